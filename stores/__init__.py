"""The stores a release ships through: Google Play's staged rollout on the production
track and App Store Connect's phased release, driven by the board's rollout steps and
read back on a schedule (docs/google-play.md, docs/app-store.md)."""
