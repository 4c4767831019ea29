"""One module per subcommand (see paramtui.cli.registry), plus the argument helpers they share."""
