"""The subscription service: a Flask app below `[subscriptions] url`, served by waitress or any WSGI server.

Pages (German, the site's theme, no JavaScript needed):
- `abonnieren`: GET the form; POST creates or refreshes a pending subscriber and sends the double-opt-in
  mail. The answer is the same whether the address was known or not.
- `bestaetigen/<token>`: GET shows a button and changes nothing (link scanners open links); POST confirms.
- `einstellungen/<token>`: change topics, or go on to leave.
- `abmelden/<token>`: GET shows a button; POST unsubscribes at once, also as RFC 8058 one-click
  (`List-Unsubscribe=One-Click`, no cookie, no CSRF token), answering 200.

Guards: a CSRF token (in the signed session cookie) on the sign-up, confirmation and settings forms, a
honeypot field, sign-ups per IP and confirmation mails per address limited, 16 KiB per request, every
error a page of its own (never a traceback). No file of the site folder is served.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, request, session
from werkzeug.exceptions import HTTPException

from ..pages import PageInfo
from .forms import FieldError, check_address, check_text, check_topics
from .mailer import send_confirmation
from .site import ServiceSite, load_service_site
from .records import Signup, Subscriber
from .store import Store, StoreError

Clock = Callable[[], datetime]
MAX_REQUEST = 16 * 1024
HONEYPOT = "homepage"
log = logging.getLogger("pressekit.service")

MESSAGES = {
    400: ("Ungültige Anfrage", "Die Anfrage war unvollständig oder fehlerhaft. Bitte laden Sie die Seite neu."),
    404: ("Seite nicht gefunden", "Diese Adresse gibt es hier nicht."),
    405: ("Nicht erlaubt", "Diese Seite kann so nicht aufgerufen werden."),
    413: ("Anfrage zu groß", "Die Anfrage ist zu groß. Bitte kürzen Sie Ihre Angaben."),
    429: ("Zu viele Anfragen", "Von Ihrem Anschluss kamen zu viele Anmeldungen. Bitte versuchen Sie es in "
                               "einer Stunde erneut."),
    500: ("Fehler", "Die Anfrage konnte nicht bearbeitet werden. Es wurde nichts geändert."),
    503: ("Vorübergehend nicht verfügbar", "Der Dienst ist gerade ausgelastet. Es wurde nichts geändert; bitte "
                                           "versuchen Sie es in einigen Minuten erneut."),
}
INVALID_LINK = ("Link ungültig", "Dieser Link ist ungültig oder wurde bereits verwendet. Bitte fordern Sie "
                                 "über das Anmeldeformular einen neuen an.")
EXPIRED_LINK = ("Link abgelaufen", "Dieser Bestätigungslink ist abgelaufen. Bitte melden Sie sich über das "
                                   "Formular erneut an; Sie erhalten dann einen neuen Link.")


def create_app(site_dir: str | Path, *, clock: Clock | None = None) -> Flask:
    """The WSGI app of the site's subscription service; raise BuildFailed/PressekitError on a bad site."""
    site = load_service_site(Path(site_dir))
    # made (WAL, schema) before the first request: a new database switching to WAL refuses concurrent openers
    site.open_store().close()
    now: Clock = clock or (lambda: datetime.now(timezone.utc).replace(microsecond=0))
    app = Flask(__name__, static_folder=None, template_folder=None)
    app.config.update(
        SECRET_KEY=hmac.new(site.secret, b"pressekit-abo-session", hashlib.sha256).hexdigest(),
        MAX_CONTENT_LENGTH=MAX_REQUEST, MAX_FORM_MEMORY_SIZE=MAX_REQUEST, MAX_FORM_PARTS=100,
        SESSION_COOKIE_NAME="abo", SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=site.url.startswith("https://"), SESSION_COOKIE_PATH=site.prefix or "/")
    app.register_blueprint(_routes(site, now), url_prefix=site.prefix or None)
    _error_pages(app, site)
    return app


@contextmanager
def _store(site: ServiceSite) -> Iterator[Store]:
    store = site.open_store()
    try:
        yield store
    finally:
        store.close()


# --- rendering --------------------------------------------------------------------------------------

def render(site: ServiceSite, template: str, title: str, status: int = 200, **context: Any) -> Response:
    """A service page in the site's theme (base.html), with the CSRF token for its forms."""
    config = site.config
    page = PageInfo(url=f"{site.url}{request.path.removeprefix(site.prefix).lstrip('/')}",
                    root=config.site.base_url, title=title, description="", feeds=(), kind="service")
    html = site.env.get_template(template).render(page=page, abo_url=site.url, csrf=_csrf_token,
                                                  honeypot=HONEYPOT, **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"   # the token in the URL goes nowhere else
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def message(site: ServiceSite, title: str, text: str, status: int = 200, **context: Any) -> Response:
    """A page with a heading, a paragraph and, with `action`, one button."""
    context.setdefault("action", "")
    context.setdefault("button", "")
    context.setdefault("next_links", ())
    context.setdefault("alert", status >= 400)
    return render(site, "abo/nachricht.html", title, status, heading=title, text=text, **context)


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _csrf_ok() -> bool:
    sent, kept = request.form.get("csrf", ""), session.get("csrf", "")
    return bool(kept) and hmac.compare_digest(str(sent), str(kept))


def _client() -> tuple[str | None, str | None]:
    return request.remote_addr, (request.user_agent.string or None) and request.user_agent.string[:300]


# --- routes ---------------------------------------------------------------------------------------

def _routes(site: ServiceSite, now: Clock) -> Blueprint:
    bp = Blueprint("abo", __name__)

    @bp.get("/abonnieren")
    def form() -> Response:
        preselected = site.topic(request.args.get("thema", ""))
        return _form_page(site, {}, {"themen": [preselected] if preselected else []})

    @bp.post("/abonnieren")
    def subscribe() -> Response:
        if not _csrf_ok():
            return _form_page(site, {"form": "Das Formular ist abgelaufen. Bitte senden Sie es noch einmal ab."},
                              _submitted(), status=400)
        if request.form.get(HONEYPOT):
            return _requested(site, mail_failed=False)   # a bot: the same answer, nothing stored or sent
        signup, errors = _read_signup(site)
        if signup is None:
            return _form_page(site, {e.field: e.message for e in errors}, _submitted(), status=422)
        with _store(site) as store:
            when = now()
            if not store.hit(f"ip:{signup.ip}", when, timedelta(hours=1), site.config.subscriptions.signups_per_hour):
                abort(429)
            result = store.sign_up(signup, when, site.config.subscriptions.mails_per_day)
            failed = bool(result.mail) and not send_confirmation(site, store, result.subscriber, result.mail, when)
            store.erase_old_ips(when, site.config.subscriptions.keep_ip_days)
        return _requested(site, mail_failed=failed)

    @bp.route("/bestaetigen/<token>", methods=["GET", "POST"])
    def confirm(token: str) -> Response:
        claim = site.tokens.read_confirm(token)
        if claim is None:
            return message(site, *INVALID_LINK, status=404)
        when = now()
        if claim.expired(when):
            return message(site, *EXPIRED_LINK, status=410, next_links=((f"{site.url}abonnieren", "Zum Anmeldeformular"),))
        with _store(site) as store:
            subscriber = store.get(claim.subscriber)
            if request.method == "GET":
                return _confirm_page(site, subscriber, claim.nonce, token)
            if not _csrf_ok():
                return message(site, "Bitte noch einmal", "Das Formular ist abgelaufen. Bitte drücken Sie den "
                               "Knopf noch einmal.", status=400, action=request.path, button="Abonnement bestätigen")
            outcome = store.confirm(claim.subscriber, claim.nonce, when, *_client())
            subscriber = store.get(claim.subscriber)
        if outcome == "invalid" or subscriber is None:
            return message(site, *INVALID_LINK, status=404)
        return _confirmed_page(site, subscriber, outcome == "already")

    @bp.route("/einstellungen/<token>", methods=["GET", "POST"])
    def settings(token: str) -> Response:
        with _store(site) as store:
            subscriber = _managed(site, store, token)
            if request.method == "POST":
                if not _csrf_ok():
                    return _settings_page(site, subscriber, token, error="Das Formular ist abgelaufen. Bitte "
                                          "speichern Sie noch einmal.", status=400)
                topics, error = check_topics(request.form.getlist("themen"), site.topics)
                if error:
                    return _settings_page(site, subscriber, token, error=error.message, status=422)
                store.set_topics(subscriber.id, topics, now(), request.remote_addr)
                return _settings_page(site, _managed(site, store, token), token, saved=True)
        return _settings_page(site, subscriber, token)

    @bp.route("/abmelden/<token>", methods=["GET", "POST"])
    def unsubscribe(token: str) -> Response:
        with _store(site) as store:
            subscriber = _managed(site, store, token)
            if request.method == "GET":
                if subscriber.state == "unsubscribed":
                    return _left_page(site)
                return message(site, "Abonnement beenden", f"Möchten Sie die Pressemitteilungen an "
                               f"{subscriber.email} abbestellen?", action=request.path, button="Jetzt abmelden")
            one_click = request.form.get("List-Unsubscribe") == "One-Click"
            store.unsubscribe(subscriber.id, "one-click" if one_click else "abmelden", now(), request.remote_addr)
        return _left_page(site)

    return bp


def _managed(site: ServiceSite, store: Store, token: str) -> Subscriber:
    """The subscriber of a genuine, current management token; a 404 page otherwise."""
    claim = site.tokens.read_manage(token)
    subscriber = store.get(claim.subscriber) if claim else None
    if claim is None or subscriber is None or subscriber.token_version != claim.version:
        abort(404, description="link")
    return subscriber


def _submitted() -> dict[str, Any]:
    form = request.form
    return {"email": form.get("email", ""), "name": form.get("name", ""), "medium": form.get("medium", ""),
            "themen": form.getlist("themen"), "einwilligung": bool(form.get("einwilligung"))}


def _read_signup(site: ServiceSite) -> tuple[Signup | None, list[FieldError]]:
    form = request.form
    errors: list[FieldError] = []
    address, problem = check_address(form.get("email", ""))
    if problem:
        errors.append(FieldError("email", problem))
    name, error = check_text("name", "Der Name", form.get("name", ""))
    medium, error2 = check_text("medium", "Die Redaktion", form.get("medium", ""))
    topics, error3 = check_topics(form.getlist("themen"), site.topics)
    errors += [e for e in (error, error2, error3) if e]
    if not form.get("einwilligung"):
        errors.append(FieldError("einwilligung", "Bitte stimmen Sie der Einwilligung zu, damit wir Ihnen "
                                                 "Pressemitteilungen senden dürfen."))
    if errors or address is None:
        return None, errors
    ip, agent = _client()
    return Signup(address, name, medium, topics, "form", site.consent_text(), ip, agent), []


# --- pages --------------------------------------------------------------------------------------

def _form_page(site: ServiceSite, errors: dict[str, str], values: dict[str, Any], status: int = 200) -> Response:
    values = {"email": "", "name": "", "medium": "", "themen": [], "einwilligung": False, **values}
    return render(site, "abo/abonnieren.html", "Pressemitteilungen per E-Mail abonnieren", status,
                  errors=errors, values=values, topics=site.topics, consent=site.consent_text(),
                  action=request.path)


def _requested(site: ServiceSite, mail_failed: bool) -> Response:
    text = ("Wenn die Adresse angemeldet werden kann, erhalten Sie in wenigen Minuten eine E-Mail mit einem "
            "Bestätigungslink. Erst nach der Bestätigung senden wir Ihnen Pressemitteilungen.")
    if mail_failed:
        text = ("Ihre Anmeldung ist gespeichert, aber die Bestätigungs-E-Mail konnte gerade nicht versendet werden. "
                "Wir versuchen es automatisch erneut; Sie müssen nichts weiter tun.")
    return message(site, "Bitte bestätigen Sie Ihre Adresse", text, alert=False)


def _confirm_page(site: ServiceSite, subscriber: Subscriber | None, nonce: str, token: str) -> Response:
    if subscriber and subscriber.state == "confirmed" and subscriber.confirm_nonce is None:
        return _confirmed_page(site, subscriber, already=True)
    if subscriber is None or subscriber.state != "pending" or subscriber.confirm_nonce != nonce:
        return message(site, *INVALID_LINK, status=404)
    return message(site, "Abonnement bestätigen", f"Bitte bestätigen Sie, dass Sie die Pressemitteilungen an "
                   f"{subscriber.email} erhalten möchten.", action=request.path, button="Abonnement bestätigen")


def _confirmed_page(site: ServiceSite, subscriber: Subscriber, already: bool) -> Response:
    settings = site.manage_url("einstellungen", subscriber.id, subscriber.token_version)
    text = ("Ihr Abonnement ist bereits bestätigt." if already else
            "Vielen Dank! Ihr Abonnement ist bestätigt. Sie erhalten die nächste passende Pressemitteilung per E-Mail.")
    return message(site, "Abonnement bestätigt", text, next_links=((settings, "Themen auswählen oder abmelden"),))


def _settings_page(site: ServiceSite, subscriber: Subscriber, token: str, *, saved: bool = False,
                   error: str = "", status: int = 200) -> Response:
    return render(site, "abo/einstellungen.html", "Einstellungen Ihres Abonnements", status,
                  subscriber=subscriber, topics=site.topics, chosen={t.casefold() for t in subscriber.topics},
                  saved=saved, error=error, action=request.path,
                  unsubscribe_url=site.manage_url("abmelden", subscriber.id, subscriber.token_version),
                  form_url=f"{site.url}abonnieren")


def _left_page(site: ServiceSite) -> Response:
    return message(site, "Abgemeldet", "Sie sind abgemeldet und erhalten keine Pressemitteilungen mehr per E-Mail.",
                   next_links=((f"{site.url}abonnieren", "Erneut abonnieren"),))


def _error_pages(app: Flask, site: ServiceSite) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        if code == 404 and exc.description == "link":
            return message(site, *INVALID_LINK, status=404)
        title, text = MESSAGES.get(code, MESSAGES[400 if code < 500 else 500])
        return message(site, title, text, status=code)

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError) -> Response:
        log.error("%s", exc)
        return message(site, *MESSAGES[503], status=503)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        log.exception("unexpected error")
        return message(site, *MESSAGES[500], status=500)
