"""Sources: one asset per installed connector, webhooks and REST API pulls; the sensors and the schedule that
start them."""
