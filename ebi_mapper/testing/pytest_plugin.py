"""pytest plugin (entry point ``pytest11``): collects mapping files' ``tests:`` as test items."""
