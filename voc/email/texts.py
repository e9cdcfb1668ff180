"""The fixed words of the e-mails and the unsubscribe page, per language (the survey's own texts come
from its version and translations). English is the fallback for a language not listed here."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "hello": "Hello {name},",
        "intro": "We would like to hear how it went. It takes about a minute.",
        "reminder_intro": "A few days ago we asked for your opinion. If you have a minute, we would still love "
                          "to hear it.",
        "reminder_subject": "Reminder: {title}",
        "pick_score": "Choose a score: your answer is saved and the rest of the survey opens in your browser.",
        "start": "Start the survey",
        "nps_low": "0 = Not at all likely",
        "nps_high": "10 = Extremely likely",
        "csat_low": "1 = Very unsatisfied",
        "csat_high": "5 = Very satisfied",
        "footer": "You receive this e-mail because of your recent contact with us.",
        "unsubscribe": "Unsubscribe from survey e-mails",
        "unsubscribe_title": "Unsubscribe from survey e-mails",
        "unsubscribe_question": "Do you want to stop receiving survey invitations and reminders from us?",
        "unsubscribe_button": "Yes, unsubscribe me",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_text": "We will not send you survey e-mails any more.",
        "invalid_title": "This link is not valid",
        "invalid_text": "Please use the link from the most recent e-mail you received from us.",
    },
    "de": {
        "hello": "Hallo {name},",
        "intro": "Wir möchten gern wissen, wie es gelaufen ist. Es dauert etwa eine Minute.",
        "reminder_intro": "Vor ein paar Tagen haben wir Sie um Ihre Meinung gebeten. Wenn Sie eine Minute Zeit "
                          "haben, freuen wir uns noch immer darüber.",
        "reminder_subject": "Erinnerung: {title}",
        "pick_score": "Wählen Sie einen Wert: Ihre Antwort wird gespeichert und der Rest der Umfrage öffnet sich "
                      "in Ihrem Browser.",
        "start": "Umfrage starten",
        "nps_low": "0 = Überhaupt nicht wahrscheinlich",
        "nps_high": "10 = Äußerst wahrscheinlich",
        "csat_low": "1 = Sehr unzufrieden",
        "csat_high": "5 = Sehr zufrieden",
        "footer": "Sie erhalten diese E-Mail wegen Ihres letzten Kontakts mit uns.",
        "unsubscribe": "Umfrage-E-Mails abbestellen",
        "unsubscribe_title": "Umfrage-E-Mails abbestellen",
        "unsubscribe_question": "Möchten Sie keine Umfrage-Einladungen und Erinnerungen mehr von uns erhalten?",
        "unsubscribe_button": "Ja, abbestellen",
        "unsubscribed_title": "Sie sind abgemeldet",
        "unsubscribed_text": "Wir senden Ihnen keine Umfrage-E-Mails mehr.",
        "invalid_title": "Dieser Link ist ungültig",
        "invalid_text": "Bitte verwenden Sie den Link aus der letzten E-Mail, die Sie von uns erhalten haben.",
    },
    "fr": {
        "hello": "Bonjour {name},",
        "intro": "Nous aimerions savoir comment cela s’est passé. Cela prend environ une minute.",
        "reminder_intro": "Il y a quelques jours, nous vous avons demandé votre avis. Si vous avez une minute, "
                          "il nous intéresse toujours.",
        "reminder_subject": "Rappel : {title}",
        "pick_score": "Choisissez une note : votre réponse est enregistrée et la suite du questionnaire s’ouvre "
                      "dans votre navigateur.",
        "start": "Commencer le questionnaire",
        "nps_low": "0 = Pas du tout probable",
        "nps_high": "10 = Très probable",
        "csat_low": "1 = Très insatisfait",
        "csat_high": "5 = Très satisfait",
        "footer": "Vous recevez cet e-mail suite à votre récent contact avec nous.",
        "unsubscribe": "Se désabonner des e-mails de questionnaire",
        "unsubscribe_title": "Se désabonner des e-mails de questionnaire",
        "unsubscribe_question": "Voulez-vous ne plus recevoir nos invitations et rappels de questionnaire ?",
        "unsubscribe_button": "Oui, me désabonner",
        "unsubscribed_title": "Vous êtes désabonné",
        "unsubscribed_text": "Nous ne vous enverrons plus d’e-mails de questionnaire.",
        "invalid_title": "Ce lien n’est pas valide",
        "invalid_text": "Veuillez utiliser le lien du dernier e-mail que vous avez reçu de notre part.",
    },
}


def text_language(language: str | None) -> str:
    """The language of TEXTS to use for `language` (a tag such as "de-AT" uses "de"), else "en"."""
    primary = (language or "en").replace("_", "-").split("-")[0].lower()
    return primary if primary in TEXTS else "en"


def texts_for(language: str | None) -> dict[str, str]:
    """The fixed texts in `language`, else English."""
    return TEXTS[text_language(language)]
