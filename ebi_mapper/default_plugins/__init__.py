"""Built-in plugins. Each module here implements the public hooks of :mod:`ebi_mapper.hookspecs`."""
