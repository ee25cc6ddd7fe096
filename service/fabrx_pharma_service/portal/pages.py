"""The portal's pages: sign-in, the hospital pharmacist's one-place invoice verification, a supplier's
invoices and where each stands, and the regulator's findings (with filters), the trace of an adverse
event drawn as a picture, and recall scopes.

Server-rendered (Jinja2, autoescaped), no JavaScript. Chinese labels first, English with ``?lang=en``.
Every POST carries a CSRF token: the session's, or before sign-in a random one held in a
``SameSite=Strict`` cookie and the form (double submit). Pages answer with ``Cache-Control: no-store``
and a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.types import Message

from fabrx.pharma import RecordNotFound
from fabrx_pharma import Invoice, RecordError, Role

from ..audit import AuditEntry, AuditLog
from ..members import Member
from ..translation import service_error
from .accounts import Account, AccountStore
from .evidence import evidence_of
from .invoices import InvoiceStatus, invoice_status
from .picture import trace_picture
from .receiving import default_receipt_id, receipt_from_count, received_at_of
from .sessions import Session, SessionStore

__all__ = ["LABELS", "Portal", "StoreLookup", "portal_router"]


class StoreLookup(Protocol):
    """What a supervision store tells the portal: what a traceability code is (product, manufacturer,
    batch, expiry, recall), what a party bought from whom and its invoices, and the regulator's report,
    traces and recall scopes (``fabrx_pharma_service.supervision.StoreQueries``)."""

    def checkpoint(self) -> int | None: ...
    def compliance_report(self) -> list[Any]: ...
    def trace(self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None) -> Any: ...
    def recall_scope(self, product_id: str, batch_number: str) -> Any: ...
    def package(self, trace_code: str, facade: Any) -> dict[str, str] | None: ...
    def purchases(
        self, party_id: str, *, product_id: str | None = None, batch_number: str | None = None
    ) -> Any: ...
    def invoices(self, party_id: str, *, side: str = "both", limit: int = 100) -> Any: ...


SESSION_COOKIE = "fabrx_session"
INVOICE_PAGE_SIZE = 20
"""Invoices the supplier's page checks on the ledger at once (each costs a few reads on the peer)."""
LOGIN_COOKIE = "fabrx_login"
MAX_FORM_BYTES = 1 << 20
_TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "两票制监管 · 统一医院端",
        "name": "用户名",
        "password": "密码",
        "sign_in": "登录",
        "sign_out": "退出",
        "bad_login": "用户名或密码错误。",
        "locked": "登录失败次数过多，请 15 分钟后再试。",
        "bad_csrf": "表单已过期，请重新提交。",
        "welcome": "欢迎，",
        "role": "角色",
        "no_pages": "此角色暂无门户页面，请使用服务接口。",
        "verify_title": "验票",
        "verify_help": "输入供应商的发票号，并粘贴或上传供应商提供的第一票（生产企业开给供应商的发票）"
        "复印件 JSON。"
        "系统核对第二票是否真实、票货是否相符，以及第一票复印件是否与账本一致（只比对哈希，不读取他方交易）。",
        "invoice_number": "发票号",
        "first_invoice_copy": "第一票复印件（JSON，可留空）",
        "verify": "核验",
        "verified": "核验通过：发票真实，票货相符，第一票复印件无误。",
        "not_verified": "核验未通过，请看下面的问题。",
        "invoice": "发票",
        "ledger": "账本核对",
        "genuine": "发票真实（与账本一致）",
        "not_genuine": "发票与账本不一致",
        "receipt": "票货同行",
        "receipt_ok": "票、货、入库一致",
        "receipt_mismatch": "票货不符",
        "no_receipt": "尚未登记入库",
        "copy": "第一票复印件",
        "copy_genuine": "真实",
        "copy_tampered": "被篡改（与账本上的第一票不一致）",
        "discrepancies": "问题",
        "bad_copy": "第一票复印件不是有效的发票 JSON：",
        "bad_copy_file": "上传的第一票复印件不是 UTF-8 编码的文本（应为发票 JSON 文件）。",
        "copy_file": "或上传复印件文件（JSON）",
        "forbidden": "此页面仅供医院药师使用。",
        "receive_title": "登记入库",
        "receive_help": "输入供应商的发票号，核对随货同行单上每个批号实际到货的件数后登记入库。"
        "整批到货的行带上出库单的追溯码；短少的行只记件数。",
        "receive_open": "打开发票",
        "shipment": "出库单",
        "shipped": "发货件数",
        "receipt_id": "入库单号",
        "received_at": "到货时间（北京时间，留空为现在）",
        "receive": "登记入库",
        "receipt_recorded": "入库已登记，交易号",
        "bad_count": "入库数量有误：",
        "record_receipt": "登记入库",
        "findings_title": "监管发现",
        "source_chaincode": "来源：本单位节点上的链码（逐次读取全账本）。",
        "source_store": "来源：本单位的监管库，已应用至区块 {block}。",
        "finding_title": "发现及证据",
        "evidence": "证据（账本上的记录）",
        "rule": "规则",
        "severity": "严重程度",
        "subject": "对象",
        "reason": "原因",
        "all": "全部",
        "filter": "筛选",
        "trace_title": "不良反应追溯",
        "prescription_id": "处方号",
        "patient": "或患者假名（追溯其全部处方）",
        "no_traces": "没有找到处方。",
        "trace": "追溯",
        "adverse_events": "不良反应报告",
        "recalled": "已召回",
        "recall_title": "召回范围",
        "product_id": "产品编号",
        "batch_number": "批号",
        "show": "查询",
        "produced": "生产数量",
        "holders": "经手单位",
        "received": "收货",
        "passed_on": "售出/调出",
        "on_hand": "库存",
        "prescriptions": "处方",
        "invoices": "发票",
        "regulator_only": "此页面仅供监管部门使用。",
        "package_title": "药品追溯码查询",
        "package_help": "输入药盒上的药品追溯码，查看药品、生产企业、批号、有效期、是否召回，"
        "以及这一盒是否已经发出过。不显示任何个人信息。",
        "trace_code": "药品追溯码",
        "check": "查询",
        "product": "药品",
        "manufacturer": "生产企业",
        "expiry": "有效期至",
        "recall_status": "召回状态",
        "not_recalled": "未召回",
        "dispensed_status": "发药记录",
        "dispensed_yes": "这一盒已经发出过：如果您刚从别处买到它，请咨询药师（可能是回流药）。",
        "dispensed_no": "尚未发药",
        "unknown_package": "账本上没有这一盒的发货记录。",
        "bad_code": "追溯码应为 1-100 个可见字符。",
        "purchases_title": "采购查询（全部供应商）",
        "supplier": "供应商",
        "kind": "票种",
        "invoice_count": "发票数",
        "quantity": "数量",
        "amount": "金额",
        "no_store": "本服务未配置监管库（--supervision-store），无法查询采购汇总。",
        "invoices_title": "我的发票及核验状态",
        "invoices_help": "本单位开出和收到的发票（最近 {limit} 张，来自本单位的监管库），逐张在账本上核对："
        "发票是否真实（与账本哈希一致），买方是否已入库，票、货、入库是否相符。也可以输入发票号单独查询。",
        "side": "方向",
        "sales": "开出（销售）",
        "purchases": "收到（采购）",
        "sale": "开出",
        "purchase": "收到",
        "counterparty": "对方单位",
        "issue_date": "开票日期",
        "total": "价税合计",
        "status": "核验状态",
        "status_verified": "已核验：发票真实，票货相符",
        "status_missing": "发票真实，买方尚未入库",
        "status_mismatch": "票货不符",
        "status_not_genuine": "发票与账本不一致",
        "status_error": "无法核对",
        "no_invoices": "没有发票。",
        "no_invoice_store": "本服务未配置监管库（--supervision-store），无法列出全部发票；可输入发票号查询。",
        "supplier_only": "此页面仅供经销企业和生产企业使用。",
        "kind_first": "第一票",
        "kind_second": "第二票",
        "kind_transfer": "调拨票",
        "kind_direct": "直销票",
    },
    "en": {
        "title": "Two-invoice supervision · hospital verification",
        "name": "User name",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "bad_login": "Wrong user name or password.",
        "locked": "Too many failed sign-ins: try again in 15 minutes.",
        "bad_csrf": "The form has expired; please submit it again.",
        "welcome": "Welcome,",
        "role": "role",
        "no_pages": "There are no portal pages for this role yet; use the service interface.",
        "verify_title": "Verify an invoice",
        "verify_help": "Enter the supplier's invoice number and paste or upload the JSON of the "
        "first-invoice copy (the manufacturer's invoice to the supplier) it handed over. The ledger tells "
        "whether the second invoice is genuine, whether goods and invoice agree, and whether the copy is "
        "the first invoice on the ledger (by hash: the other trade is never read).",
        "invoice_number": "Invoice number",
        "first_invoice_copy": "First-invoice copy (JSON, optional)",
        "verify": "Verify",
        "verified": "Verified: the invoice is genuine, goods and invoice agree, the copy is genuine.",
        "not_verified": "Not verified: see the problems below.",
        "invoice": "Invoice",
        "ledger": "Ledger",
        "genuine": "genuine (matches the ledger)",
        "not_genuine": "does not match the ledger",
        "receipt": "Goods and invoice",
        "receipt_ok": "invoice, shipment and receipt agree",
        "receipt_mismatch": "receipt does not match the invoice",
        "no_receipt": "no receipt recorded yet",
        "copy": "First-invoice copy",
        "copy_genuine": "genuine",
        "copy_tampered": "tampered (not the first invoice on the ledger)",
        "discrepancies": "Problems",
        "bad_copy": "The first-invoice copy is not a valid invoice JSON: ",
        "bad_copy_file": "The uploaded first-invoice copy is not UTF-8 text (an invoice JSON file).",
        "copy_file": "or upload the copy's file (JSON)",
        "forbidden": "This page is for hospital pharmacists.",
        "receive_title": "Record a receipt",
        "receive_help": "Enter the supplier's invoice number, count the packages of each batch that arrived "
        "against the delivery note, and record the receipt. A line counted whole carries the shipment's "
        "traceability codes; a short line carries its count only.",
        "receive_open": "Open the invoice",
        "shipment": "shipment",
        "shipped": "shipped",
        "receipt_id": "Receipt id",
        "received_at": "Received at (China Standard Time; empty: now)",
        "receive": "Record the receipt",
        "receipt_recorded": "Receipt recorded, transaction",
        "bad_count": "The count is wrong: ",
        "record_receipt": "Record the receipt",
        "findings_title": "Findings",
        "source_chaincode": "From the chaincode on this member's peer (reads the whole ledger each time).",
        "source_store": "From this member's supervision store, current to block {block}.",
        "finding_title": "A finding and its evidence",
        "evidence": "Evidence (the records on the ledger)",
        "rule": "Rule",
        "severity": "Severity",
        "subject": "Subject",
        "reason": "Reason",
        "all": "all",
        "filter": "Filter",
        "trace_title": "Trace of an adverse event",
        "prescription_id": "Prescription id",
        "patient": "or the patient's pseudonym (every prescription)",
        "no_traces": "No prescription found.",
        "trace": "Trace",
        "adverse_events": "adverse event reports",
        "recalled": "recalled",
        "recall_title": "Recall scope",
        "product_id": "Product id",
        "batch_number": "Batch number",
        "show": "Show",
        "produced": "produced",
        "holders": "Holders",
        "received": "received",
        "passed_on": "passed on",
        "on_hand": "on hand",
        "prescriptions": "Prescriptions",
        "invoices": "Invoices",
        "regulator_only": "This page is for the regulator.",
        "package_title": "Check a package",
        "package_help": "Enter the traceability code on the box to see the drug, its manufacturer, batch, "
        "expiry, whether it is recalled, and whether this package was already dispensed. Nothing personal "
        "is shown.",
        "trace_code": "Traceability code",
        "check": "Check",
        "product": "Drug",
        "manufacturer": "Manufacturer",
        "expiry": "Expires",
        "recall_status": "Recall",
        "not_recalled": "not recalled",
        "dispensed_status": "Dispensing",
        "dispensed_yes": "This package was already dispensed: if you just bought it elsewhere, ask a "
        "pharmacist (it may be a resold returned drug).",
        "dispensed_no": "not dispensed yet",
        "unknown_package": "No shipment of this package is on the ledger.",
        "bad_code": "A traceability code has 1-100 visible characters.",
        "purchases_title": "Purchases from every supplier",
        "supplier": "Supplier",
        "kind": "Kind",
        "invoice_count": "Invoices",
        "quantity": "Quantity",
        "amount": "Amount",
        "no_store": "This service has no supervision store (--supervision-store): no purchase summary.",
        "invoices_title": "Our invoices and their verification status",
        "invoices_help": "The invoices this organization issued and received (the latest {limit}, from its "
        "supervision store), each checked on the ledger: is it genuine (it matches its hash on the ledger), "
        "has the buyer recorded its receipt, and do invoice, goods and receipt agree. Or enter an invoice "
        "number to check one.",
        "side": "Direction",
        "sales": "issued (sales)",
        "purchases": "received (purchases)",
        "sale": "issued",
        "purchase": "received",
        "counterparty": "Counterparty",
        "issue_date": "Issued",
        "total": "Total",
        "status": "Status",
        "status_verified": "verified: genuine, goods and receipt agree",
        "status_missing": "genuine, not received by the buyer yet",
        "status_mismatch": "receipt does not match the invoice",
        "status_not_genuine": "does not match the ledger",
        "status_error": "could not be checked",
        "no_invoices": "No invoices.",
        "no_invoice_store": "This service has no supervision store (--supervision-store), so it cannot list "
        "every invoice; enter an invoice number to check one.",
        "supplier_only": "This page is for distributors and manufacturers.",
        "kind_first": "first",
        "kind_second": "second",
        "kind_transfer": "transfer",
        "kind_direct": "direct",
    },
}


class Portal:
    """What the portal keeps: its accounts and sessions; ``public`` is the ``(identity, role)`` the public
    package page reads the ledger with (``None``: no public page)."""

    def __init__(
        self, accounts: AccountStore, sessions: SessionStore, *, public: tuple[str, Role] | None = None
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.public = public


def portal_router(
    member: Member, portal: Portal, audit: AuditLog, packages: StoreLookup | None = None
) -> APIRouter:
    """The portal's routes under ``/portal`` (left out of the OpenAPI document).

    ``packages`` (a supervision store's queries) tells the public page what a traceability code is, lists
    a hospital's purchases and a supplier's invoices, and answers the regulator's findings, traces and
    recall scopes from the store's projection instead of the chaincode's whole-ledger reads; each of
    those pages names its source and, for the store, the last block it applied. A finding's evidence
    and every invoice status are read on the member's own peer either way.
    """
    router = APIRouter(prefix="/portal", include_in_schema=False)

    def lang_of(request: Request) -> str:
        return "en" if request.query_params.get("lang") == "en" else "zh"

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        response = _TEMPLATES.TemplateResponse(
            request,
            name,
            {"t": LABELS[lang], "lang": lang, "member": member.msp_id, "error": None, **context},
            status_code=status,
            headers=_HEADERS,
        )
        return response

    def signed_in(request: Request) -> tuple[Session, Account] | None:
        session = portal.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        account = portal.accounts.get(session.account)
        return None if account is None else (session, account)

    def to_login(request: Request) -> Response:
        return RedirectResponse(f"/portal/login?lang={lang_of(request)}", status_code=303, headers=_HEADERS)

    def note(
        account: str, identity: str, operation: str, key: str, status: int, outcome: str, tx: str = ""
    ) -> None:
        audit.record(AuditEntry(f"portal:{account}", identity, operation, key, tx, status, outcome))

    @router.get("/login")
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", csrf=token, account=None)
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/portal"
        )
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        t = LABELS[lang_of(request)]
        cookie = request.cookies.get(LOGIN_COOKIE)
        if not cookie or not secrets.compare_digest(cookie, form.get("csrf", "")):
            return page(request, "login.html", 403, csrf=cookie or "", account=None, error=t["bad_csrf"])
        name = form.get("name", "")[:64]
        if portal.sessions.locked(name):
            note(name if portal.accounts.get(name) else "", "", "sign_in", "", 429, "LOCKED")
            return page(request, "login.html", 429, csrf=cookie, account=None, error=t["locked"])
        # Argon2 is deliberately slow: verify off the event loop.
        account = await run_in_threadpool(portal.accounts.authenticate, name, form.get("password", ""))
        if account is None:
            portal.sessions.failed(name)
            note(name if portal.accounts.get(name) else "", "", "sign_in", "", 401, "BAD_PASSWORD")
            return page(request, "login.html", 401, csrf=cookie, account=None, error=t["bad_login"])
        portal.sessions.succeeded(account.name)
        token, _ = portal.sessions.create(account.name)
        note(account.name, account.identity, "sign_in", "", 200, "ok")
        response = RedirectResponse(f"/portal/?lang={lang_of(request)}", status_code=303, headers=_HEADERS)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/portal"
        )
        response.delete_cookie(LOGIN_COOKIE, path="/portal")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await _form(request)
        current = signed_in(request)
        if current is not None and current[0].csrf_matches(form.get("csrf")):
            portal.sessions.end(request.cookies.get(SESSION_COOKIE))
            note(current[1].name, current[1].identity, "sign_out", "", 200, "ok")
        response = to_login(request)
        response.delete_cookie(SESSION_COOKIE, path="/portal")
        return response

    @router.get("/")
    def home(request: Request) -> Response:
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        return page(request, "home.html", account=account, csrf=session.csrf)

    @router.get("/verify")
    def verify_form(request: Request) -> Response:
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        if account.role is not Role.HOSPITAL:
            t = LABELS[lang_of(request)]
            return page(request, "home.html", 403, account=account, csrf=session.csrf, error=t["forbidden"])
        return page(
            request, "verify.html", account=account, csrf=session.csrf, number="", copy="", result=None
        )

    @router.post("/verify")
    async def verify(request: Request) -> Response:
        form, uploaded = await _form_with_file(request, "copy_file")
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        t = LABELS[lang_of(request)]
        context: dict[str, Any] = {
            "account": account,
            "csrf": session.csrf,
            "number": form.get("number", "").strip(),
            "copy": form.get("copy", ""),
            "result": None,
        }
        if not session.csrf_matches(form.get("csrf")):
            return page(request, "verify.html", 403, error=t["bad_csrf"], **context)
        if account.role is not Role.HOSPITAL:
            return page(request, "home.html", 403, account=account, csrf=session.csrf, error=t["forbidden"])
        copies: list[Invoice] = []
        if uploaded:  # a file chosen wins over pasted text
            try:
                context["copy"] = uploaded.decode("utf-8")
            except UnicodeDecodeError:
                return page(request, "verify.html", 400, error=t["bad_copy_file"], **context)
        if context["copy"].strip():
            try:
                copies.append(Invoice.from_json(context["copy"]))
            except RecordError as exc:
                return page(request, "verify.html", 400, error=t["bad_copy"] + str(exc), **context)
        return await _run_verification(request, account, copies, context)

    async def _run_verification(
        request: Request, account: Account, copies: list[Invoice], context: dict[str, Any]
    ) -> Response:
        number = context["number"]
        try:
            facade: Any = member.facade(account.identity, account.role)
            result = await run_in_threadpool(facade.verify_invoice, number, copies)
        except Exception as exc:
            error = service_error(exc)
            note(account.name, account.identity, "verify_invoices", number, error.status, error.code)
            return page(
                request,
                "verify.html",
                error.status,
                error=f"{error.code} {error.field}: {error.message}",
                **context,
            )
        note(
            account.name,
            account.identity,
            "verify_invoices",
            number,
            200,
            "ok" if result.verified else "not_verified",
        )
        return page(request, "verify.html", **{**context, "result": result})

    def receive_context(request: Request, number: str) -> tuple[Session, Account, dict[str, Any]] | Response:
        """The signed-in hospital's session and account and the receipt page's empty context, or the
        page to send instead."""
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        context: dict[str, Any] = {"account": account, "csrf": session.csrf, "number": number[:64]}
        context.update(invoice=None, counted=[], receipt_id="", received_at="", anchor=None)
        if account.role is not Role.HOSPITAL:
            t = LABELS[lang_of(request)]
            return page(request, "home.html", 403, error=t["forbidden"], **context)
        return session, account, context

    def failed(
        request: Request, account: Account, operation: str, key: str, exc: Exception, context: dict[str, Any]
    ) -> Response:
        error = service_error(exc)
        note(account.name, account.identity, operation, key, error.status, error.code)
        message = f"{error.code} {error.field}: {error.message}"
        return page(request, "receive.html", error.status, error=message, **context)

    @router.get("/receive")
    async def receive_form(request: Request, number: str = "") -> Response:
        """The hospital's receipt form: the invoice's shipment lines, each count filled with what was
        shipped (the invoice read on the hospital's peer, or the regulator's before its receipt)."""
        opened = receive_context(request, number.strip())
        if isinstance(opened, Response):
            return opened
        _, account, context = opened
        if not context["number"]:
            return page(request, "receive.html", **context)
        try:
            facade: Any = member.facade(account.identity, account.role)
            invoice = await run_in_threadpool(facade.read_invoice, context["number"])
        except Exception as exc:
            return failed(request, account, "read_invoice", context["number"], exc, context)
        context.update(invoice=invoice, receipt_id=default_receipt_id(context["number"]))
        context["counted"] = [str(line.quantity) for line in invoice.shipment.lines]
        return page(request, "receive.html", **context)

    @router.post("/receive")
    async def receive(request: Request) -> Response:
        """Record the receipt as counted (:func:`~.receiving.receipt_from_count`), received now."""
        form = await _form(request)
        opened = receive_context(request, form.get("number", "").strip())
        if isinstance(opened, Response):
            return opened
        session, account, context = opened
        t = LABELS[lang_of(request)]
        context["receipt_id"] = form.get("receipt_id", "").strip()[:64]
        if not session.csrf_matches(form.get("csrf")):
            return page(request, "receive.html", 403, error=t["bad_csrf"], **context)
        number = context["number"]
        try:
            facade: Any = member.facade(account.identity, account.role)
            invoice = await run_in_threadpool(facade.read_invoice, number)
        except Exception as exc:
            return failed(request, account, "read_invoice", number, exc, context)
        counted = [form.get(f"qty_{i}", "") for i in range(len(invoice.shipment.lines))]
        context.update(invoice=invoice, counted=counted, received_at=form.get("received_at", "")[:40])
        try:
            received_at = received_at_of(context["received_at"], datetime.now(UTC))
            receipt = receipt_from_count(
                invoice, str(facade.party_id), context["receipt_id"], counted, received_at=received_at
            )
        except ValueError as exc:
            note(account.name, account.identity, "record_receipt", number, 400, "BAD_COUNT")
            return page(request, "receive.html", 400, error=t["bad_count"] + str(exc), **context)
        try:
            anchor = await run_in_threadpool(facade.record_receipt, receipt)
        except Exception as exc:
            return failed(request, account, "record_receipt", number, exc, context)
        note(account.name, account.identity, "record_receipt", number, 201, "ok", anchor.transaction_id)
        return page(request, "receive.html", **{**context, "anchor": anchor})

    def regulator_page(
        request: Request, name: str, operation: str, key: str, query: Any, **context: Any
    ) -> Response:
        """A regulator's read-only page: ``query(reads, facade)`` gives the extra context, or an error page.
        ``reads`` answers the ledger-wide queries: the supervision store when the service has one, else
        the facade (the chaincode on the member's peer)."""
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        t = LABELS[lang_of(request)]
        base = {"account": account, "csrf": session.csrf, "source": None, **context}
        if account.role is not Role.REGULATOR:
            return page(request, "home.html", 403, error=t["regulator_only"], **base)
        if query is None:
            return page(request, name, **base)
        try:
            facade = member.facade(account.identity, account.role)
            reads: Any = facade if packages is None else packages
            base["source"] = _source(LABELS[lang_of(request)], packages)
            extra = query(reads, facade)
        except Exception as exc:
            error = service_error(exc)
            note(account.name, account.identity, operation, key, error.status, error.code)
            return page(
                request, name, error.status, error=f"{error.code} {error.field}: {error.message}", **base
            )
        note(account.name, account.identity, operation, key, 200, "ok")
        return page(request, name, **{**base, **extra})

    @router.get("/findings")
    def findings(request: Request, rule: str = "", severity: str = "") -> Response:
        def query(reads: Any, facade: Any) -> dict[str, Any]:
            every = reads.compliance_report()
            chosen = [
                f
                for f in every
                if (not rule or f.rule.value == rule) and (not severity or f.severity.value == severity)
            ]
            return {"findings": chosen, "total": len(every), "rules": sorted({f.rule.value for f in every})}

        context = {"rule": rule, "severity": severity, "findings": [], "total": 0, "rules": []}
        return regulator_page(request, "findings.html", "compliance_report", rule, query, **context)

    @router.get("/finding")
    def finding(request: Request, rule: str = "", subject: str = "") -> Response:
        """One finding of the report (by rule and subject) and its evidence: the records its subject
        names (:mod:`.evidence`)."""
        rule, subject = rule.strip()[:64], subject.strip()[:200]

        def query(reads: Any, facade: Any) -> dict[str, Any]:
            chosen = [f for f in reads.compliance_report() if f.rule.value == rule and f.subject == subject]
            if not chosen:
                raise RecordNotFound(
                    "NOT_FOUND", "subject", f"no {rule} finding about {subject} in the report"
                )
            return {"findings": chosen, "sections": evidence_of(facade, subject)}

        context = {"rule": rule, "subject": subject, "findings": [], "sections": []}
        return regulator_page(request, "finding.html", "finding", subject, query, **context)

    def trace_page(request: Request, prescription_id: str, patient: str) -> Response:
        """The trace of one prescription, or of every prescription of a patient (by pseudonym), each
        drawn as a picture; the audit log and the page never name the patient."""

        def query(reads: Any, facade: Any) -> dict[str, Any]:
            if prescription_id:
                traces = reads.trace(prescription_id=prescription_id)
            else:
                traces = reads.trace(patient_pseudonym=patient)
            return {"traces": [(t, trace_picture(t)) for t in traces], "searched": True}

        context = {"prescription_id": prescription_id, "traces": [], "colours": _COLOURS, "searched": False}
        key = prescription_id or "patient"
        ready = prescription_id or patient
        return regulator_page(request, "trace.html", "trace", key, query if ready else None, **context)

    @router.get("/trace")
    def trace(request: Request, prescription_id: str = "") -> Response:
        return trace_page(request, prescription_id.strip()[:64], "")

    @router.post("/trace")
    async def trace_patient(request: Request) -> Response:
        """A patient's prescriptions, the pseudonym sent in a form body (never in a URL, which access
        logs keep)."""
        form = await _form(request)
        current = signed_in(request)
        if current is not None and not current[0].csrf_matches(form.get("csrf")):
            t = LABELS[lang_of(request)]
            context = {"account": current[1], "csrf": current[0].csrf, "prescription_id": ""}
            context.update(traces=[], colours=_COLOURS, searched=False)
            return page(request, "trace.html", 403, error=t["bad_csrf"], **context)
        # The facade blocks on the peer: off the event loop, as FastAPI runs the synchronous routes.
        return await run_in_threadpool(trace_page, request, "", form.get("patient", "").strip()[:128])

    @router.get("/recall-scope")
    def recall_scope(request: Request, product_id: str = "", batch_number: str = "") -> Response:
        def query(reads: Any, facade: Any) -> dict[str, Any]:
            return {"scope": reads.recall_scope(product_id, batch_number)}

        context = {"product_id": product_id, "batch_number": batch_number, "scope": None}
        ready = product_id and batch_number
        key = f"{product_id}/{batch_number}"
        return regulator_page(
            request, "recall.html", "recall_scope", key, query if ready else None, **context
        )

    @router.get("/purchases")
    def purchases(request: Request, product_id: str = "", batch_number: str = "") -> Response:
        """The hospital's purchases from every supplier (from the service's supervision store)."""
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        t = LABELS[lang_of(request)]
        context: dict[str, Any] = {"account": account, "csrf": session.csrf, "rows": None}
        context.update(product_id=product_id, batch_number=batch_number)
        if account.role is not Role.HOSPITAL:
            return page(request, "home.html", 403, error=t["forbidden"], **context)
        if packages is None:
            return page(request, "purchases.html", 404, error=t["no_store"], **context)
        try:
            rows = packages.purchases(
                member.msp_id, product_id=product_id or None, batch_number=batch_number or None
            )
        except Exception as exc:
            error = service_error(exc)
            note(account.name, account.identity, "purchases", product_id, error.status, error.code)
            return page(
                request, "purchases.html", error.status, error=f"{error.code}: {error.message}", **context
            )
        note(account.name, account.identity, "purchases", product_id, 200, "ok")
        return page(request, "purchases.html", **{**context, "rows": rows})

    @router.get("/invoices")
    def invoices(request: Request, side: str = "both", number: str = "") -> Response:
        """A supplier's invoices (from the service's supervision store) or one by number, each checked on
        the member's own peer: genuine, received, goods and receipt agreeing."""
        current = signed_in(request)
        if current is None:
            return to_login(request)
        session, account = current
        t = LABELS[lang_of(request)]
        side = side if side in ("both", "sales", "purchases") else "both"
        number = number.strip()[:64]
        context: dict[str, Any] = {"account": account, "csrf": session.csrf, "rows": None, "listed": False}
        context.update(side=side, number=number, limit=INVOICE_PAGE_SIZE, store=packages is not None)
        if account.role not in (Role.DISTRIBUTOR, Role.MANUFACTURER):
            return page(request, "home.html", 403, error=t["supplier_only"], **context)
        try:
            facade: Any = member.facade(account.identity, account.role)
            party_id = str(facade.party_id)
            if number:
                numbers = [number]
            elif packages is not None:
                listed = packages.invoices(party_id, side=side, limit=INVOICE_PAGE_SIZE)
                numbers = [str(row.number) for row in listed]
                context["listed"] = True
            else:
                numbers = []
        except Exception as exc:
            error = service_error(exc)
            note(account.name, account.identity, "invoices", number, error.status, error.code)
            return page(
                request, "invoices.html", error.status, error=f"{error.code}: {error.message}", **context
            )
        rows: list[tuple[str, InvoiceStatus | None, str]] = []
        for each in numbers:
            try:
                rows.append((each, invoice_status(facade, each), ""))
            except Exception as exc:
                error = service_error(exc)
                if number:  # the one asked for: the page says why, with the error's status
                    note(account.name, account.identity, "invoices", number, error.status, error.code)
                    return page(
                        request,
                        "invoices.html",
                        error.status,
                        error=f"{error.code} {error.field}: {error.message}",
                        **context,
                    )
                rows.append((each, None, f"{error.code}: {error.message}"))
        note(account.name, account.identity, "invoices", number, 200, "ok")
        return page(request, "invoices.html", **{**context, "rows": rows, "party_id": party_id})

    @router.get("/package")
    def package(request: Request, code: str = "") -> Response:
        """The public page (no sign-in): what a package is and whether it was dispensed; nothing private."""
        t = LABELS[lang_of(request)]
        context: dict[str, Any] = {"account": None, "csrf": "", "code": code}
        context.update(dispensing=None, package=None)
        if portal.public is None:
            return page(request, "package.html", 404, error=t["unknown_package"], **context)
        code = code.strip()
        if not code:
            return page(request, "package.html", **context)
        if len(code) > 100 or not code.isprintable():
            return page(request, "package.html", 400, error=t["bad_code"], **context)
        identity, role = portal.public
        try:
            facade: Any = member.facade(identity, role)
            context["dispensing"] = facade.trace_code_status(code)
            context["package"] = None if packages is None else packages.package(code, facade)
        except Exception as exc:
            error = service_error(exc)
            audit.record(AuditEntry("public", identity, "package", "", "", error.status, error.code))
            return page(
                request, "package.html", error.status, error=f"{error.code}: {error.message}", **context
            )
        audit.record(AuditEntry("public", identity, "package", "", "", 200, "ok"))
        return page(request, "package.html", **context)

    return router


def _source(t: dict[str, str], packages: StoreLookup | None) -> str:
    """What a regulator's page says of where its answer comes from. The checkpoint is taken before the
    query, so the answer is at least as current as the block it names."""
    if packages is None:
        return t["source_chaincode"]
    checkpoint = packages.checkpoint()
    return t["source_store"].format(block="-" if checkpoint is None else checkpoint)


_COLOURS = {
    "lot": "#f3e8c8",
    "batch": "#f7d9a8",
    "manufacturer": "#cfe3f7",
    "distributor": "#d8efd3",
    "hospital": "#f4d3da",
    "prescription": "#e4dcf2",
}


async def _body(request: Request) -> bytes | None:
    """The request body, or ``None`` beyond :data:`MAX_FORM_BYTES` (read no further)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return body


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    body = await _body(request)
    if body is None:
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


async def _form_with_file(request: Request, name: str) -> tuple[dict[str, str], bytes | None]:
    """A form that may carry one file in field ``name`` (``multipart/form-data``, or urlencoded without a
    file): its text fields and the file's bytes (``None`` when no file was chosen).

    The whole body is read first, up to :data:`MAX_FORM_BYTES` (beyond: no fields, so the CSRF check
    refuses it), and only then parsed, so an upload never reaches the disk.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _form(request), None
    body = await _body(request)
    if body is None:
        return {}, None

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=20) as data:
            fields = {key: value for key, value in data.items() if isinstance(value, str)}
            upload = data.get(name)
            content = None
            if isinstance(upload, UploadFile) and upload.filename:
                content = await upload.read()
    except MultiPartException:
        return {}, None
    return fields, content
