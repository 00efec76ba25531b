"""The Configuration Wizard's pages: each collects input, emits intents to the controller, shows its answers."""
