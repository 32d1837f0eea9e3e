"""Feature flags per product, attached to the releases that ship them, and their kill
switch (Unleash's admin API or a signed generic webhook): docs/flags.md."""
