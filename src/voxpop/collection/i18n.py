"""What the respondent's page says around the survey's own texts, in each language voxpop ships."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "error.not_text": "Please write your answer as text.",
        "error.bad_characters": "Your answer contains characters that cannot be stored (such as a null byte); please remove them.",
        "error.survey_changed": "This survey was updated while you were answering. Please check your answers below and send them again.",
        "back": "Back",
        "choose_all": "Choose all that apply.",
        "next": "Next",
        "submit": "Send my answers",
        "required": "required",
        "optional": "optional",
        "errors_title": "Please check your answers",
        "error.required": "Please answer this question.",
        "error.not_a_number": "Please choose a number from {low} to {high}.",
        "error.out_of_range": "{value} is outside the scale; please choose a number from {low} to {high}.",
        "error.unknown_option": "Please choose one of the options shown.",
        "error.too_long": "Your answer has {length:,} characters; please shorten it to {limit:,}.",
        "error.form_expired": "This form has expired. Your answers are kept below: please send them again.",
        "error.unknown_question": "There is no question with this key in the survey; remove it.",
        "error.unknown_attribute": "{name!r} is not an attribute of this survey; declared: {declared}.",
        "error.bad_attribute": "An attribute value must be text of at most {limit} characters.",
        "thanks_title": "Thank you!",
        "thanks_body": "Your answers have been recorded.",
        "already_title": "Already answered",
        "already_body": "This invitation has already been used to answer. Your first answers are kept; nothing was changed.",
        "closed_title": "This survey is closed",
        "closed_body": "It no longer accepts answers. Thank you for your interest.",
        "not_found_title": "Survey not found",
        "not_found_body": "There is no survey at this address. Please check the link you were sent.",
        "invalid_invitation_title": "This invitation link is not valid",
        "invalid_invitation_body": "It may be mistyped or expired. Please use the link from your most recent message.",
        "too_many_title": "Too many requests",
        "too_many_body": "Please wait a minute and try again.",
        "nps.low": "Not at all likely",
        "nps.high": "Extremely likely",
        "csat.low": "Very dissatisfied",
        "csat.high": "Very satisfied",
        "ces1.low": "Very low effort",
        "ces1.high": "Very high effort",
        "ces2.low": "Strongly disagree",
        "ces2.high": "Strongly agree",
        "step": "Step {page} of {pages}",
        "language": "Language",
    },
    "de": {
        "error.not_text": "Bitte geben Sie Ihre Antwort als Text ein.",
        "error.bad_characters": "Ihre Antwort enthält Zeichen, die nicht gespeichert werden können (z. B. ein Nullbyte); bitte entfernen Sie sie.",
        "error.survey_changed": "Diese Umfrage wurde geändert, während Sie geantwortet haben. Bitte prüfen Sie Ihre Antworten unten und senden Sie sie erneut.",
        "back": "Zurück",
        "choose_all": "Wählen Sie alles Zutreffende.",
        "next": "Weiter",
        "submit": "Antworten senden",
        "required": "Pflichtfeld",
        "optional": "freiwillig",
        "errors_title": "Bitte prüfen Sie Ihre Antworten",
        "error.required": "Bitte beantworten Sie diese Frage.",
        "error.not_a_number": "Bitte wählen Sie eine Zahl von {low} bis {high}.",
        "error.out_of_range": "{value} liegt außerhalb der Skala; bitte wählen Sie eine Zahl von {low} bis {high}.",
        "error.unknown_option": "Bitte wählen Sie eine der angezeigten Optionen.",
        "error.too_long": "Ihre Antwort hat {length:,} Zeichen; bitte kürzen Sie sie auf {limit:,}.",
        "error.form_expired": "Dieses Formular ist abgelaufen. Ihre Antworten stehen unten: bitte senden Sie sie erneut.",
        "thanks_title": "Vielen Dank!",
        "thanks_body": "Ihre Antworten wurden gespeichert.",
        "already_title": "Bereits beantwortet",
        "already_body": "Mit dieser Einladung wurde bereits geantwortet. Ihre ersten Antworten bleiben erhalten; nichts wurde geändert.",
        "closed_title": "Diese Umfrage ist geschlossen",
        "closed_body": "Sie nimmt keine Antworten mehr an. Vielen Dank für Ihr Interesse.",
        "not_found_title": "Umfrage nicht gefunden",
        "not_found_body": "Unter dieser Adresse gibt es keine Umfrage. Bitte prüfen Sie den Link, den Sie erhalten haben.",
        "invalid_invitation_title": "Dieser Einladungslink ist ungültig",
        "invalid_invitation_body": "Er ist vielleicht falsch abgetippt oder abgelaufen. Bitte nutzen Sie den Link aus Ihrer neuesten Nachricht.",
        "too_many_title": "Zu viele Anfragen",
        "too_many_body": "Bitte warten Sie eine Minute und versuchen Sie es erneut.",
        "nps.low": "Sehr unwahrscheinlich",
        "nps.high": "Sehr wahrscheinlich",
        "csat.low": "Sehr unzufrieden",
        "csat.high": "Sehr zufrieden",
        "ces1.low": "Sehr geringer Aufwand",
        "ces1.high": "Sehr hoher Aufwand",
        "ces2.low": "Stimme überhaupt nicht zu",
        "ces2.high": "Stimme voll und ganz zu",
        "step": "Schritt {page} von {pages}",
        "language": "Sprache",
    },
    "fr": {
        "error.not_text": "Veuillez écrire votre réponse sous forme de texte.",
        "error.bad_characters": "Votre réponse contient des caractères impossibles à enregistrer (comme un octet nul) ; veuillez les retirer.",
        "error.survey_changed": "Cette enquête a été modifiée pendant que vous répondiez. Veuillez vérifier vos réponses ci-dessous et les renvoyer.",
        "back": "Retour",
        "choose_all": "Choisissez toutes les réponses qui s'appliquent.",
        "next": "Suivant",
        "submit": "Envoyer mes réponses",
        "required": "obligatoire",
        "optional": "facultatif",
        "errors_title": "Veuillez vérifier vos réponses",
        "error.required": "Veuillez répondre à cette question.",
        "error.not_a_number": "Veuillez choisir un nombre de {low} à {high}.",
        "error.out_of_range": "{value} est hors de l'échelle ; veuillez choisir un nombre de {low} à {high}.",
        "error.unknown_option": "Veuillez choisir l'une des options proposées.",
        "error.too_long": "Votre réponse compte {length:,} caractères ; veuillez la réduire à {limit:,}.",
        "error.form_expired": "Ce formulaire a expiré. Vos réponses sont conservées ci-dessous : veuillez les renvoyer.",
        "thanks_title": "Merci !",
        "thanks_body": "Vos réponses ont été enregistrées.",
        "already_title": "Déjà répondu",
        "already_body": "Cette invitation a déjà servi à répondre. Vos premières réponses sont conservées ; rien n'a été modifié.",
        "closed_title": "Cette enquête est close",
        "closed_body": "Elle n'accepte plus de réponses. Merci de votre intérêt.",
        "not_found_title": "Enquête introuvable",
        "not_found_body": "Il n'y a pas d'enquête à cette adresse. Veuillez vérifier le lien reçu.",
        "invalid_invitation_title": "Ce lien d'invitation n'est pas valide",
        "invalid_invitation_body": "Il est peut-être mal recopié ou expiré. Veuillez utiliser le lien de votre message le plus récent.",
        "too_many_title": "Trop de requêtes",
        "too_many_body": "Veuillez patienter une minute et réessayer.",
        "nps.low": "Pas du tout probable",
        "nps.high": "Très probable",
        "csat.low": "Très insatisfait",
        "csat.high": "Très satisfait",
        "ces1.low": "Effort très faible",
        "ces1.high": "Effort très important",
        "ces2.low": "Pas du tout d'accord",
        "ces2.high": "Tout à fait d'accord",
        "step": "Étape {page} sur {pages}",
        "language": "Langue",
    },
    "es": {
        "error.not_text": "Escriba su respuesta como texto.",
        "error.bad_characters": "Su respuesta contiene caracteres que no se pueden guardar (como un byte nulo); elimínelos.",
        "error.survey_changed": "Esta encuesta se actualizó mientras respondía. Revise sus respuestas abajo y envíelas de nuevo.",
        "back": "Atrás",
        "choose_all": "Elija todas las que correspondan.",
        "next": "Siguiente",
        "submit": "Enviar mis respuestas",
        "required": "obligatoria",
        "optional": "opcional",
        "errors_title": "Revise sus respuestas",
        "error.required": "Responda esta pregunta, por favor.",
        "error.not_a_number": "Elija un número del {low} al {high}.",
        "error.out_of_range": "{value} está fuera de la escala; elija un número del {low} al {high}.",
        "error.unknown_option": "Elija una de las opciones mostradas.",
        "error.too_long": "Su respuesta tiene {length:,} caracteres; acórtela a {limit:,}.",
        "error.form_expired": "Este formulario ha caducado. Sus respuestas se conservan abajo: envíelas de nuevo.",
        "thanks_title": "¡Gracias!",
        "thanks_body": "Sus respuestas se han guardado.",
        "already_title": "Ya respondida",
        "already_body": "Esta invitación ya se usó para responder. Se conservan sus primeras respuestas; no se cambió nada.",
        "closed_title": "Esta encuesta está cerrada",
        "closed_body": "Ya no acepta respuestas. Gracias por su interés.",
        "not_found_title": "Encuesta no encontrada",
        "not_found_body": "No hay ninguna encuesta en esta dirección. Compruebe el enlace que recibió.",
        "invalid_invitation_title": "Este enlace de invitación no es válido",
        "invalid_invitation_body": "Puede estar mal copiado o caducado. Use el enlace de su mensaje más reciente.",
        "too_many_title": "Demasiadas solicitudes",
        "too_many_body": "Espere un minuto y vuelva a intentarlo.",
        "nps.low": "Nada probable",
        "nps.high": "Muy probable",
        "csat.low": "Muy insatisfecho",
        "csat.high": "Muy satisfecho",
        "ces1.low": "Esfuerzo muy bajo",
        "ces1.high": "Esfuerzo muy alto",
        "ces2.low": "Totalmente en desacuerdo",
        "ces2.high": "Totalmente de acuerdo",
        "step": "Paso {page} de {pages}",
        "language": "Idioma",
    },
}


def message(language: str, code: str, **params) -> str:
    """The message `code` in `language` (English when voxpop has no such translation)."""
    catalog = MESSAGES.get(language.split("-")[0], MESSAGES["en"])
    return catalog.get(code, MESSAGES["en"][code]).format(**params)


def choose_language(offered: list[str], requested: str | None, accept_language: str | None) -> str:
    """The survey language to show: an explicit ?lang= choice, else the browser's best match, else the first."""
    if requested in offered:
        return requested
    ranked: list[tuple[float, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            ranked.append((-quality, index, tag.strip()))  # type: ignore[arg-type]
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            for language in offered:
                if language.lower() == candidate.lower() or language.split("-")[0].lower() == candidate.lower():
                    return language
    return offered[0]
