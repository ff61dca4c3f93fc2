"""What each ``piiq`` subcommand does, one module per subcommand (or per group: ``jobs``,
``queues``); ``piiq.cli`` only declares their options and calls them."""
