"""The editors' console in English and French (the public pages' languages, render/i18n.py).

Only the console's chrome is translated; posts, notes and source errors stay as written.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "fr")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console": "Editors' console",
        "desk": "Moderation desk",
        "status": "Status",
        "audit": "Audit log",
        "signed_in_as": "Signed in as",
        "sign_out": "Sign out",
        "sign_in": "Sign in",
        "sign_in_title": "Editors: sign in",
        "name": "Editor name",
        "password": "Password",
        "other_lang": "Français",
        "filters": "Filters",
        "mission": "Mission",
        "source": "Source",
        "state": "State",
        "from": "From (date)",
        "to": "To (date)",
        "query": "Search (archive query language)",
        "apply": "Apply filters",
        "reset": "Clear filters",
        "any": "any",
        "all_missions": "all missions",
        "all_sources": "all sources",
        "st_new": "new (no editor acted)",
        "st_visible": "visible",
        "st_hidden": "hidden",
        "st_pinned": "pinned",
        "st_flagged": "flagged at the source",
        "next_page": "Older posts",
        "first_page": "Newest posts",
        "no_posts": "No post matches these filters.",
        "page_of": "{n} posts on this page, newest first",
        "note": "Note (why)",
        "hide": "Hide",
        "show": "Show",
        "pin": "Pin",
        "unpin": "Unpin",
        "add_mission": "Add mission",
        "remove_mission": "Remove mission",
        "choose": "choose…",
        "select": "Select this post",
        "bulk": "Act on the selected posts",
        "bulk_help": "Tick posts below, write a note and choose an action.",
        "action": "Action",
        "do": "Apply to selected",
        "hidden_by": "Hidden by {who}: {note}",
        "pinned_by": "Pinned by {who}: {note}",
        "new": "New",
        "flagged": "{what} at the source",
        "why_here": "Missions and why",
        "no_mission": "No mission",
        "removed_by": "{m} removed by {who}: {note}",
        "id": "id",
        "permalink": "Post page",
        "done": "Done: {n} post(s) {what}.",
        "refused_some": "Refused for {n} post(s): {why}",
        "refused": "Refused",
        "not_done": "Not done",
        "not_found": "Not found",
        "back": "Back to the desk",
        "your_role": "Your role: {role}",
        "role_admin": "admin (every mission)",
        "role_editor": "editor of {m}",
        "failures_notice": "Since your previous sign-in, {n} failed sign-in(s) on your account, the"
        " last at {at} from {addr}. If they were not yours, tell an admin.",
        "throttled_account": "Too many failed sign-ins on this account. Try again in {s} seconds"
        " (each failure makes the wait longer, {cap} minutes at most). A browser that signed in"
        " to this account before is not held back.",
        "throttled_address": "Too many failed sign-ins from your address. Try again in {s} seconds.",
        "wrong": "Wrong editor name or password.",
        "form_expired": "The sign-in form expired or came from another site; reload it.",
        "bad_token": "The form's security token did not match; reload the page.",
        "sign_in_first": "Sign in first.",
        "no_page": "No such page.",
        # status
        "status_title": "Sources and collection",
        "st_col_source": "Source",
        "st_col_state": "State",
        "st_col_success": "Last success",
        "st_col_error": "Last error and hint",
        "st_col_due": "Next due",
        "st_col_week": "Posts, last 7 days",
        "x_title": "X API",
        "x_reads": "Reads this month",
        "x_spend": "Spend this month",
        "x_budget": "Budget",
        "x_pauses": "Rate-limit pauses",
        "never": "never",
        "service": "Service",
        "last_tick": "Last tick",
        # audit
        "audit_title": "Who did what, when and why",
        "at": "When",
        "editor": "Editor",
        "what": "Action",
        "post": "Post",
        "why": "Note",
        "filter": "Filter",
        "older": "Older entries",
        "empty_audit": "No entry matches.",
    },
    "fr": {
        "console": "Console de l'équipe éditoriale",
        "desk": "Bureau de modération",
        "status": "État",
        "audit": "Journal d'audit",
        "signed_in_as": "Connecté·e en tant que",
        "sign_out": "Se déconnecter",
        "sign_in": "Se connecter",
        "sign_in_title": "Équipe éditoriale : connexion",
        "name": "Nom d'éditeur",
        "password": "Mot de passe",
        "other_lang": "English",
        "filters": "Filtres",
        "mission": "Mission",
        "source": "Source",
        "state": "État",
        "from": "Du (date)",
        "to": "Au (date)",
        "query": "Recherche (langage de requête des archives)",
        "apply": "Filtrer",
        "reset": "Effacer les filtres",
        "any": "tous",
        "all_missions": "toutes les missions",
        "all_sources": "toutes les sources",
        "st_new": "nouveau (aucune décision)",
        "st_visible": "visible",
        "st_hidden": "masqué",
        "st_pinned": "épinglé",
        "st_flagged": "signalé à la source",
        "next_page": "Publications plus anciennes",
        "first_page": "Publications les plus récentes",
        "no_posts": "Aucune publication ne correspond à ces filtres.",
        "page_of": "{n} publications sur cette page, les plus récentes d'abord",
        "note": "Note (pourquoi)",
        "hide": "Masquer",
        "show": "Afficher",
        "pin": "Épingler",
        "unpin": "Désépingler",
        "add_mission": "Ajouter la mission",
        "remove_mission": "Retirer la mission",
        "choose": "choisir…",
        "select": "Sélectionner cette publication",
        "bulk": "Agir sur les publications sélectionnées",
        "bulk_help": "Cochez des publications ci-dessous, écrivez une note et choisissez une action.",
        "action": "Action",
        "do": "Appliquer à la sélection",
        "hidden_by": "Masqué par {who} : {note}",
        "pinned_by": "Épinglé par {who} : {note}",
        "new": "Nouveau",
        "flagged": "{what} à la source",
        "why_here": "Missions et pourquoi",
        "no_mission": "Aucune mission",
        "removed_by": "{m} retirée par {who} : {note}",
        "id": "id",
        "permalink": "Page de la publication",
        "done": "Fait : {n} publication(s), {what}.",
        "refused_some": "Refusé pour {n} publication(s) : {why}",
        "refused": "Refusé",
        "not_done": "Non effectué",
        "not_found": "Introuvable",
        "back": "Retour au bureau",
        "your_role": "Votre rôle : {role}",
        "role_admin": "administration (toutes les missions)",
        "role_editor": "édition de {m}",
        "failures_notice": "Depuis votre connexion précédente, {n} tentative(s) de connexion"
        " échouée(s) sur votre compte, la dernière le {at} depuis {addr}. Si ce n'était pas vous,"
        " prévenez l'administration.",
        "throttled_account": "Trop de tentatives échouées sur ce compte. Réessayez dans {s} secondes"
        " (chaque échec allonge l'attente, {cap} minutes au plus). Un navigateur déjà connecté à ce"
        " compte n'est pas retenu.",
        "throttled_address": "Trop de tentatives échouées depuis votre adresse. Réessayez dans {s} secondes.",
        "wrong": "Nom d'éditeur ou mot de passe incorrect.",
        "form_expired": "Le formulaire de connexion a expiré ou vient d'un autre site ; rechargez-le.",
        "bad_token": "Le jeton de sécurité du formulaire ne correspond pas ; rechargez la page.",
        "sign_in_first": "Connectez-vous d'abord.",
        "no_page": "Cette page n'existe pas.",
        "status_title": "Sources et collecte",
        "st_col_source": "Source",
        "st_col_state": "État",
        "st_col_success": "Dernier succès",
        "st_col_error": "Dernière erreur et conseil",
        "st_col_due": "Prochaine collecte",
        "st_col_week": "Publications, 7 derniers jours",
        "x_title": "API X",
        "x_reads": "Lectures ce mois-ci",
        "x_spend": "Dépense ce mois-ci",
        "x_budget": "Budget",
        "x_pauses": "Pauses de limite de débit",
        "never": "jamais",
        "service": "Service",
        "last_tick": "Dernier cycle",
        "audit_title": "Qui a fait quoi, quand et pourquoi",
        "at": "Quand",
        "editor": "Éditeur",
        "what": "Action",
        "post": "Publication",
        "why": "Note",
        "filter": "Filtrer",
        "older": "Entrées plus anciennes",
        "empty_audit": "Aucune entrée ne correspond.",
    },
}

ACTION_WORDS: dict[str, dict[str, str]] = {
    "en": {"hide": "hidden", "show": "shown again", "pin": "pinned", "unpin": "unpinned",
           "add_mission": "mission added", "remove_mission": "mission removed"},
    "fr": {"hide": "masquée(s)", "show": "affichée(s) de nouveau", "pin": "épinglée(s)",
           "unpin": "désépinglée(s)", "add_mission": "mission ajoutée",
           "remove_mission": "mission retirée"},
}


def translator(lang: str) -> Callable[..., str]:
    """``tr(key, **values)`` in ``lang`` (English for a key French lacks)."""
    table = STRINGS.get(lang, STRINGS["en"])

    def tr(key: str, **values: object) -> str:
        text = table.get(key) or STRINGS["en"][key]
        return text.format(**values) if values else text

    return tr


def choose_language(query_lang: str, accept_language: str) -> str:
    """``?lang=`` when given, else the first of EN/FR the browser asks for, else English."""
    if query_lang in LANGUAGES:
        return query_lang
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
