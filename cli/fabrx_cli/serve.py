"""``fabrx serve --org ORG``: one member organization's signed HTTP service, and its applications.

    fabrx serve --org HospitalA [--port 8443]                 run the service (HTTPS)
    fabrx serve --org HospitalA app add erp-1 --public-key erp-1.pub.pem [--identity client]
    fabrx serve --org HospitalA app list | app remove erp-1
    fabrx serve openapi                                        print the OpenAPI document

The service acts through the member's Fabric identities in the run directory's MSP folders
(``orgs/<Org>/users/<identity>/msp``) or in a wallet (``--wallet``); its files live in
``<run dir>/service/<Org>`` unless ``--state-dir`` says otherwise.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fabrx import FileSystemWallet
from fabrx_network import ConsortiumNetwork
from fabrx_network.operations import open_network
from fabrx_pharma import Role
from fabrx_pharma_service import (
    Application,
    ApplicationRegistry,
    AuditLog,
    CredentialError,
    GatewayMember,
    ServiceFiles,
    ServiceState,
    TlsFiles,
    create_app,
    msp_users,
    run,
    self_signed_tls,
    service_openapi,
    wallet_identities,
)
from fabrx_pharma_service.portal import AccountStore, Portal, SessionStore
from fabrx_pharma_service.supervision import BackgroundFeed

from .main import CliContext, cli


@dataclass
class ServeContext:
    cli: CliContext
    org: str | None
    state_dir: Path | None

    def network(self) -> ConsortiumNetwork:
        return open_network(self.cli.config_path, self.cli.run_dir)

    def organization(self, net: ConsortiumNetwork) -> Any:
        if self.org is None:
            raise click.UsageError("name the member organization with --org")
        org = next((o for o in net.consortium.orgs if self.org in (o.name, o.msp_id)), None)
        if org is None:
            raise click.BadParameter(f"no organization {self.org!r} in the consortium", param_hint="--org")
        return org

    def files(self, net: ConsortiumNetwork, org: Any) -> ServiceFiles:
        return ServiceFiles(self.state_dir or net.run_dir / "service" / org.name)


@cli.group(invoke_without_command=True)
@click.option("--org", help="Member organization the service acts for (e.g. HospitalA or HospitalAMSP).")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the applications, state, audit log and TLS files (default <run dir>/service/<Org>).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8443, show_default=True, help="HTTPS port.")
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Server certificate (PEM).",
)
@click.option(
    "--tls-key", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Its private key (PEM)."
)
@click.option(
    "--wallet",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Wallet of the identities applications map to (default: the run directory's MSP folders).",
)
@click.option(
    "--supervision-store",
    metavar="URL",
    help="Answer the regulator's report, traces and recall scopes from this supervision store "
    "(sqlite:///path or postgresql://...), kept current by its own feed.",
)
@click.option(
    "--feed",
    is_flag=True,
    help="Keep the supervision store current from the member's own peer while serving (creates or "
    "migrates its schema).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    org: str | None,
    state_dir: Path | None,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    wallet: Path | None,
    supervision_store: str | None,
    feed: bool,
) -> None:
    """Run the member's HTTP service (or manage its applications, see the subcommands).

    Without --tls-cert/--tls-key a self-signed certificate for localhost and 127.0.0.1 is made once
    under the state folder; clients trust that file.
    """
    obj = ServeContext(
        cli=ctx.find_object(CliContext) or CliContext(None, None), org=org, state_dir=state_dir
    )
    ctx.obj = obj
    if ctx.invoked_subcommand is not None:
        return
    if feed and supervision_store is None:
        raise click.UsageError("--feed needs --supervision-store")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    net = obj.network()
    member_org = obj.organization(net)
    # Only started, not running: under systemd the service may start before the peer it calls.
    net.require_started()
    files = obj.files(net, member_org)
    identities = (
        wallet_identities(FileSystemWallet(wallet))
        if wallet is not None
        else msp_users(member_org.msp_id, net.layout.org_dir(member_org.name) / "users")
    )
    try:
        endpoint = net.peer_endpoint(member_org, member_org.peers[0])
    except OSError as exc:
        raise click.ClickException(
            f"cannot read {member_org.name}'s peer TLS certificate in {net.run_dir} ({exc.strerror}): "
            "bring the consortium up first (fabrx network up) or give --run-dir"
        ) from None
    member = GatewayMember(member_org.msp_id, endpoint, identities)
    tls = TlsFiles(tls_cert, tls_key) if tls_cert and tls_key else self_signed_tls(files.tls)
    org_role = Role(str(getattr(member_org.role, "value", member_org.role)))
    portal = Portal(AccountStore(files.accounts), SessionStore(files.sessions), public=("client", org_role))
    store = None
    if supervision_store is not None:
        # The supervision store is an optional part of the service (fabrx-pharma's `supervision` extra).
        from fabrx_pharma_supervision import LedgerFeed, SupervisionError, SupervisionStore

        try:
            store = SupervisionStore.open(supervision_store, migrate=feed)
        except SupervisionError as exc:
            raise click.ClickException(f"supervision store {supervision_store}: {exc}") from None
    service_app = create_app(
        member,
        ApplicationRegistry(files.applications),
        ServiceState(files.state),
        AuditLog(files.audit),
        portal=portal,
        supervision=store,
    )
    obj.cli.output.progress(
        f"serving {member_org.msp_id} on https://{host}:{port} (certificate {tls.certificate}, "
        f"applications {files.applications}); portal at https://{host}:{port}/portal/"
    )
    feeder = None
    if store is not None and feed:
        fed = store

        def one_round(stop: Callable[[], bool], seconds: float) -> object:
            network = member.gateway("client").get_network("pharma")
            return LedgerFeed(fed, network).run(stop=stop, timeout=seconds)

        feeder = BackgroundFeed(one_round).start()
    try:
        run(service_app, host=host, port=port, tls=tls)
    finally:
        if feeder is not None:
            feeder.stop()
        member.close()
        if store is not None:
            store.close()


@serve.command()
def openapi() -> None:
    """Print the service's OpenAPI 3 document (the one in service/openapi.json)."""
    click.echo(json.dumps(service_openapi(), indent=2, ensure_ascii=False))


@serve.group()
def app() -> None:
    """Register, list and revoke the applications that may call the service."""


@app.command("add")
@click.argument("app_id")
@click.option(
    "--public-key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The application's public key (PEM; RSA of at least 2048 bits, or ECDSA P-256/P-384).",
)
@click.option(
    "--identity", default="client", show_default=True, help="Fabric identity of the member it acts through."
)
@click.option("--role", help="Pharma role whose operations it may call (default: the organization's role).")
@click.option(
    "--algorithm",
    type=click.Choice(["rsa-pss-sha512", "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ecdsa-p384-sha384"]),
    help="Signature algorithm (default: rsa-pss-sha512 for RSA, by curve for ECDSA).",
)
@click.option("--replace", is_flag=True, help="Replace an application registered under the same id.")
@click.pass_obj
def app_add(
    obj: ServeContext,
    app_id: str,
    public_key: Path,
    identity: str,
    role: str | None,
    algorithm: str | None,
    replace: bool,
) -> None:
    """Register application APP_ID with its public key, role and Fabric identity."""
    net = obj.network()
    org = obj.organization(net)
    org_role = str(getattr(org.role, "value", org.role))
    try:
        application = Application.new(
            app_id,
            role=role or org_role,
            identity=identity,
            public_key_pem=public_key.read_bytes(),
            algorithm=algorithm,
        )
        ApplicationRegistry(obj.files(net, org).applications).add(application, replace=replace)
    except CredentialError as exc:
        raise click.ClickException(str(exc)) from None
    obj.cli.output.result(
        _public(application),
        lambda d: f"registered {d['app_id']}: role {d['role']}, identity {d['identity']}, {d['algorithm']}",
    )


@app.command("list")
@click.pass_obj
def app_list(obj: ServeContext) -> None:
    """List the registered applications."""
    net = obj.network()
    registry = ApplicationRegistry(obj.files(net, obj.organization(net)).applications)
    rows = [_public(a) for a in registry]
    obj.cli.output.result(
        rows,
        lambda r: (
            "\n".join(f"{d['app_id']}\t{d['role']}\t{d['identity']}\t{d['algorithm']}" for d in r)
            or "no applications registered"
        ),
    )


@app.command("remove")
@click.argument("app_id")
@click.pass_obj
def app_remove(obj: ServeContext, app_id: str) -> None:
    """Revoke application APP_ID: its signatures are refused from the next request on."""
    net = obj.network()
    try:
        ApplicationRegistry(obj.files(net, obj.organization(net)).applications).remove(app_id)
    except CredentialError as exc:
        raise click.ClickException(str(exc)) from None
    obj.cli.output.result({"removed": app_id}, lambda d: f"removed {d['removed']}")


@serve.group()
def user() -> None:
    """Create, list and remove the portal's accounts (people who sign in)."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role", help="Pharma role of the pages the person may use (default: the organization's role)."
)
@click.option(
    "--identity", default="client", show_default=True, help="Fabric identity of the member it acts through."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
@click.option("--replace", is_flag=True, help="Reset the password of an existing account.")
@click.pass_obj
def user_add(
    obj: ServeContext, name: str, role: str | None, identity: str, password_stdin: bool, replace: bool
) -> None:
    """Create account NAME; the password is asked for (twice) unless --password-stdin."""
    net = obj.network()
    org = obj.organization(net)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = AccountStore(obj.files(net, org).accounts).add(
            name,
            password,
            role=role or str(getattr(org.role, "value", org.role)),
            identity=identity,
            replace=replace,
        )
    except CredentialError as exc:
        raise click.ClickException(str(exc)) from None
    obj.cli.output.result(
        {"name": account.name, "role": account.role.value, "identity": account.identity},
        lambda d: f"account {d['name']}: role {d['role']}, identity {d['identity']}",
    )


@user.command("list")
@click.pass_obj
def user_list(obj: ServeContext) -> None:
    """List the portal's accounts (never their password hashes)."""
    net = obj.network()
    store = AccountStore(obj.files(net, obj.organization(net)).accounts)
    rows = [{"name": a.name, "role": a.role.value, "identity": a.identity} for a in store]
    obj.cli.output.result(
        rows, lambda r: "\n".join(f"{d['name']}\t{d['role']}\t{d['identity']}" for d in r) or "no accounts"
    )


@user.command("remove")
@click.argument("name")
@click.pass_obj
def user_remove(obj: ServeContext, name: str) -> None:
    """Remove account NAME (its sessions end at their next request)."""
    net = obj.network()
    try:
        AccountStore(obj.files(net, obj.organization(net)).accounts).remove(name)
    except CredentialError as exc:
        raise click.ClickException(str(exc)) from None
    obj.cli.output.result({"removed": name}, lambda d: f"removed {d['removed']}")


def _public(application: Application) -> dict[str, str]:
    return {k: v for k, v in application.to_dict().items() if k != "public_key_pem"}
