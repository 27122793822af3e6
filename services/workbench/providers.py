"""The region's identity providers as a nameko dependency: one OpenID Connect client each
(services/workbench/oidc.py), with its metadata and keys cached for the life of the container."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.workbench import oidc, options, web


class SignIn(DependencyProvider):
    """The region's identity providers, one client each."""

    def setup(self):
        from shared.config import settings_from_nameko

        self.settings = settings_from_nameko(self.container.config)
        self.options = options.options_of(self.settings.region)
        self.public_url = options.public_url(self.settings)
        self._providers = {}

    def get_dependency(self, worker_ctx):
        return self

    def provider(self, domain_: str) -> oidc.Provider:
        if domain_ not in self._providers:
            settings = self.options["identity_providers"][domain_]
            self._providers[domain_] = oidc.Provider(settings, options.client_secret(settings),
                                                     f"{self.public_url}/aanmelden/terug")
        return self._providers[domain_]

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def provider_origins(self) -> list[str]:
        return [web.origin(p["issuer"]) for p in self.options["identity_providers"].values()]
