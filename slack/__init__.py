"""Sign-offs from Slack: the missing sign-offs asked for in a channel with Block Kit
buttons, the votes recorded by the board's own rules (docs/slack.md)."""
