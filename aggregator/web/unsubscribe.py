"""``/unsubscribe?token=...`` for ``aggregator serve``: one-click unsubscribe (RFC 8058).

- ``POST`` with a valid token records the unsubscribe at once. Mail providers send
  ``List-Unsubscribe=One-Click`` in the body when the reader presses their own button; the
  confirmation page's button posts the same form.
- ``GET`` changes nothing: it shows the page with that button (link scanners and prefetchers
  follow GET links, so a GET must never unsubscribe anyone).
- A forged, altered or expired token changes nothing and gets a 400 page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from aggregator.digest.lists import load_digest_lists
from aggregator.digest.render import email_templates
from aggregator.errors import AggregatorError
from aggregator.mailer import secret_key, verify_token
from aggregator.web import Request, Response, Route

if TYPE_CHECKING:
    from aggregator.app import App

PATH = "/unsubscribe"
HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
]

TEXT = {
    "en": {
        "confirm_heading": "Unsubscribe from {title}?",
        "confirm": "{email} will no longer receive the “{title}” digest.",
        "button": "Unsubscribe",
        "done_heading": "You are unsubscribed",
        "done": "{email} will no longer receive the “{title}” digest.",
        "bad_heading": "This link does not work",
        "bad": "The unsubscribe link is not valid or has expired. Use the link in a recent"
        " digest, or reply to it and ask to be removed.",
    },
    "fr": {
        "confirm_heading": "Se désabonner de « {title} » ?",
        "confirm": "{email} ne recevra plus le résumé « {title} ».",
        "button": "Se désabonner",
        "done_heading": "Vous êtes désabonné(e)",
        "done": "{email} ne recevra plus le résumé « {title} ».",
        "bad_heading": "Ce lien ne fonctionne pas",
        "bad": "Le lien de désabonnement n’est pas valide ou a expiré. Utilisez celui d’un"
        " résumé récent, ou répondez à ce message pour demander à être retiré(e).",
    },
}


def routes(app: App) -> list[Route]:
    def page(lang: str, kind: str, status: str, action: str = "", **fmt: str) -> Response:
        t = TEXT.get(lang, TEXT["en"])
        html = email_templates().get_template("unsubscribe.html.j2").render(
            lang=lang,
            heading=t[f"{kind}_heading"].format(**fmt),
            message=t[kind].format(**fmt),
            button=t["button"],
            confirm=kind == "confirm",
            action=action,
        )
        return Response(html.encode("utf-8"), status, headers=list(HEADERS))

    def resolve(request: Request) -> tuple[str, str, str, str] | None:
        token = parse_qs(request.query_string).get("token", [""])[0]
        try:
            key = secret_key(app.config.settings, app.env)
        except AggregatorError:
            return None
        found = verify_token(
            key, token, now=app.now(), max_age_days=app.config.settings.unsubscribe_max_age_days
        )
        if found is None:
            return None
        list_name, email = found
        try:
            dl = load_digest_lists(app.config).get(list_name)
        except AggregatorError:
            dl = None
        lang, title = (dl.language, dl.title) if dl else ("en", list_name)
        if dl is None and list_name.startswith("alert."):  # a saved search's alert (#18)
            title = f"Alert: {list_name.removeprefix('alert.')}"
        return list_name, email, lang, title

    def get(request: Request) -> Response:
        found = resolve(request)
        if found is None:
            return page("en", "bad", "400 Bad Request")
        _list_name, email, lang, title = found
        action = f"{PATH}?{request.query_string}"
        return page(lang, "confirm", "200 OK", action, email=email, title=title)

    def post(request: Request) -> Response:
        found = resolve(request)
        if found is None:
            return page("en", "bad", "400 Bad Request")
        list_name, email, lang, title = found
        app.store.unsubscribe(list_name, email, app.now(), via="link")
        return page(lang, "done", "200 OK", email=email, title=title)

    return [Route("GET", PATH, get), Route("POST", PATH, post)]
