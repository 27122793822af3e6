"""Meldpunt Hub's own shared code: configuration, event contract, case stores, outbox/inbox, messaging."""

import warnings

# eventlet 0.41 announces its maintenance mode on import; nameko 2.14 still builds on it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
