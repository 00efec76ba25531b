"""Loopback stand-ins that speak the real protocols (DESIGN section 5).

:class:`Sandbox` starts all of them on 127.0.0.1 with one throw-away CA: the OAuth2 authority, one Dataverse
environment per organization of the demo directory, Global Discovery, the EWS server and Microsoft Graph. Used
by the tests, the benchmarks and ``d365sync sandbox`` / ``d365sync demo``; the product itself never imports this package
outside those commands.

With ``onprem=True`` (the default) one more environment, "Contoso On-Premises", stands in for Dynamics 365 on
premises: Windows sign-in (NTLM) instead of tokens, at ``https://127.0.0.1:PORT/contosoonprem``, not listed by
Global Discovery. NTLM's credential file is process-wide (``NTLM_USER_FILE``, :mod:`wizard.sandbox.ntlm`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from wizard.sandbox._http import FaultPlan
from wizard.sandbox.directory import Directory, DirectoryOrg, demo_directory
from wizard.sandbox.ntlm import down_level_name
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

# The on-premises organization (members as the directory says; every user is a domain account); 9.1 as on premises.
ONPREM_ORG = DirectoryOrg(
    unique_name="contosoonprem",
    url_name="contosoonprem",
    friendly_name="Contoso On-Premises",
    region="",
    version="9.1.0.0",
)


class Sandbox:
    """All stand-ins together. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        directory: Directory | None = None,
        demo_data: bool = True,
        seed: int = 0,
        ews: bool = True,
        graph: bool = True,
        token_lifetime: int = 3600,
        onprem: bool = True,
        latency_ms: float = 0,
    ) -> None:
        """``latency_ms``: every stand-in waits this long before each answer (a network's round trip)."""
        if latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, got {latency_ms}")
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="d365sync-sandbox-")) if data_dir is None else data_dir
        self.directory = directory or demo_directory()
        self.demo_data = demo_data
        self.seed = seed
        self.with_ews = ews
        self.with_graph = graph
        self.with_onprem = onprem
        self.token_lifetime = token_lifetime
        self.latency_ms = latency_ms
        self.signer = TokenSigner()
        self.faults = FaultPlan(seed=seed)
        self.tls: SandboxTLS | None = None
        self.authority: Any = None
        self.environments: list[Any] = []
        self.onprem: Any = None  # the on-premises (NTLM) environment, not in ``environments``
        self.discovery: Any = None
        self.ews: Any = None
        self.graph: Any = None

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> Sandbox:
        from wizard.sandbox.authority import Authority
        from wizard.sandbox.dataverse.discovery import DiscoveryService

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls = make_tls(self.data_dir)
        try:
            self.authority = Authority(
                self.directory, signer=self.signer, tls=self.tls, token_lifetime=self.token_lifetime
            ).start()
            for org in self.directory.orgs:
                self.environments.append(self._environment(org))
            if self.with_onprem:
                self.onprem = self._environment(ONPREM_ORG, auth="ntlm")
            self.discovery = DiscoveryService(
                self.directory,
                self.environments,
                signer=self.signer,
                tls=self.tls,
                authority_url=self.authority.url,
            ).start()
            if self.with_ews:
                from wizard.sandbox.ews import EwsStandIn

                self.ews = EwsStandIn(
                    self.directory,
                    tls=self.tls,
                    data_dir=self.data_dir / "ews",
                    signer=self.signer,
                    demo_data=self.demo_data,
                ).start()
            if self.with_graph:
                from wizard.sandbox.graph import GraphStandIn

                self.graph = GraphStandIn(
                    self.directory,
                    tls=self.tls,
                    signer=self.signer,
                    demo_data=self.demo_data,
                ).start()
        except BaseException:
            self.stop()
            raise
        for service in self._services():
            service.server.latency = self.latency_ms / 1000
        return self

    def _services(self) -> list[Any]:
        """Every stand-in that is running."""
        services = [self.graph, self.ews, self.discovery, self.onprem, *self.environments, self.authority]
        return [s for s in services if s is not None]

    def _environment(self, org: DirectoryOrg, auth: str = "oauth") -> Any:
        """One Dataverse environment of this sandbox, started (its data under the org's unique name)."""
        from wizard.sandbox.dataverse.server import DataverseEnvironment

        return DataverseEnvironment(
            self.directory,
            org,
            signer=self.signer,
            tls=self.tls,
            authority_url=self.authority.url,
            data_dir=self.data_dir / org.unique_name,
            demo_data=self.demo_data,
            seed=self.seed,
            faults=self.faults,
            auth=auth,
        ).start()

    def stop(self) -> None:
        for service in self._services():
            service.stop()
        self.environments = []
        self.ews = self.graph = self.discovery = self.authority = self.onprem = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need ---------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        assert self.tls is not None, "sandbox not started"
        return self.tls.ca_file

    @property
    def dataverse_url(self) -> str:
        """The first (default) environment's URL."""
        return str(self.environments[0].url)

    def environment(self, unique_name: str) -> Any:
        return next(e for e in self.environments if e.org.unique_name == unique_name)

    def port_info(self) -> dict[str, Any]:
        """What ``d365sync sandbox --port-file`` writes (a documented contract: docs/sandbox.md)."""
        assert self.authority is not None and self.discovery is not None, "sandbox not started"
        first = self.directory.orgs[0]
        resources = [e.url for e in self.environments] + [self.discovery.url]
        if self.ews is not None:
            resources.append(self.ews.base_url)
        if self.graph is not None:
            resources.append(self.graph.base_url)
        users = []
        for user in self.directory.users:
            entry: dict[str, Any] = {
                "upn": user.upn,
                "password": user.password,
                "primary_email": user.primary_email,
                "systemuserid": user.systemuserid(first),
                "systemuserids": {
                    o.unique_name: user.systemuserid(o) for o in self.directory.orgs if user.member_of(o)
                },
                "access_token": self.authority.issue_for(user.upn, resources),
            }
            if self.ews is not None:
                entry["ews_password"] = user.ews_password
            if self.onprem is not None or self.ews is not None:
                entry["ntlm_username"] = down_level_name(user.upn)
            users.append(entry)
        info: dict[str, Any] = {
            "dataverse_url": self.dataverse_url,
            "environments": [
                {"unique_name": e.org.unique_name, "friendly_name": e.org.friendly_name, "url": e.url}
                for e in self.environments
            ],
            "discovery_url": self.discovery.url,
            "authority_url": self.authority.url,
            "ca_file": str(self.ca_file),
            "tenant_id": self.directory.tenant_id,
            "users": users,
        }
        if self.ews is not None:
            info["ews_url"] = self.ews.url
            info["autodiscover_url"] = self.ews.autodiscover_url
        if self.graph is not None:
            info["graph_url"] = self.graph.url
        if self.onprem is not None:
            info["onprem"] = {
                "unique_name": self.onprem.org.unique_name,
                "friendly_name": self.onprem.org.friendly_name,
                "url": self.onprem.url,
                "auth": "ntlm",
            }
        return info
