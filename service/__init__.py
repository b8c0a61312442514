"""The product's HTTP app (`meetintel serve`): monitoring API, health, metrics, Slack Events receiver and
the status page."""
