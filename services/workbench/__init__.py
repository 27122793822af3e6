"""The staff workbench: people sign in through their organisation's OpenID Connect provider and work
cases through the other services' HTTP APIs (docs/workbench.md)."""
