"""Reason codes -> plain words, in French and English, as one table.

Rules of this module: data and a short renderer, nothing else. A :class:`~rules.types.Reason` holds a
code and parameters; times are already local ``"HH:MM"`` strings (with ``<name>_day``: ``"+1"`` for
tomorrow or a weekday number), temperatures are floats in °C. The renderer adds the small phrases
that depend on the parameters (the source of a mode, "until …", "measured …").

Example::

    >>> render(Reason.of("heat_on", zone="Salle des fêtes", mode="confort", target=19.0, until="23:00",
    ...                  source="booking", label="Loto", measured=17.8))
    'Chauffage allumé : Salle des fêtes, confort 19 °C jusqu’à 23 h 00 (réservation « Loto »), mesuré 17,8 °C'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.types import ParamValue, Reason

Lang = str

TEMPLATES: dict[str, dict[Lang, str]] = {
    # heating, on/off heaters
    "heat_on": {
        "fr": "Chauffage allumé : {zone}, {mode} {target}{until}{source}{measured}",
        "en": "Heating on: {zone}, {mode} {target}{until}{source}{measured}",
    },
    "heat_off_reached": {
        "fr": "Chauffage éteint : {zone}, consigne {mode} {target} atteinte{source}{measured}",
        "en": "Heating off: {zone}, {mode} {target} reached{source}{measured}",
    },
    "heat_off_enough": {
        "fr": "Chauffage éteint : {zone}, {mode} {target}{until}{source}{measured}",
        "en": "Heating off: {zone}, {mode} {target}{until}{source}{measured}",
    },
    "heat_mode_off": {
        "fr": "Chauffage arrêté : {zone}, mode arrêt{until}{source}",
        "en": "Heating stopped: {zone}, mode off{until}{source}",
    },
    "heat_window": {
        "fr": "Chauffage coupé : {zone}, fenêtre ouverte{measured}",
        "en": "Heating cut: {zone}, window open{measured}",
    },
    "heat_failsafe_off": {
        "fr": "Sécurité : {zone}, température indisponible, chauffage coupé",
        "en": "Fail-safe: {zone}, temperature unavailable, heating off",
    },
    "heat_failsafe_duty_on": {
        "fr": "Sécurité : {zone}, température indisponible, hors-gel par cycles ({on_min} min toutes les "
        "{period_min} min) : chauffe",
        "en": "Fail-safe: {zone}, temperature unavailable, frost-protection cycles ({on_min} min every "
        "{period_min} min): heating",
    },
    "heat_failsafe_duty_off": {
        "fr": "Sécurité : {zone}, température indisponible, hors-gel par cycles ({on_min} min toutes les "
        "{period_min} min) : pause",
        "en": "Fail-safe: {zone}, temperature unavailable, frost-protection cycles ({on_min} min every "
        "{period_min} min): resting",
    },
    "heat_failsafe_model_on": {
        "fr": "Sécurité : {zone}, thermomètre muet, le modèle du bâtiment l’estime à {estimated_c} : chauffe "
        "vers {target} (consigne de sécurité)",
        "en": "Fail-safe: {zone}, thermometer silent, the building's model estimates {estimated_c}: heating "
        "towards {target} (safe setpoint)",
    },
    "heat_failsafe_model_off": {
        "fr": "Sécurité : {zone}, thermomètre muet, le modèle du bâtiment l’estime à {estimated_c} : pause "
        "(consigne de sécurité {target})",
        "en": "Fail-safe: {zone}, thermometer silent, the building's model estimates {estimated_c}: resting "
        "(safe setpoint {target})",
    },
    "people_on": {
        "fr": "Chauffage des personnes allumé : {zone}{until}{source}{measured}",
        "en": "Heating of people on: {zone}{until}{source}{measured}",
    },
    "people_off": {
        "fr": "Chauffage des personnes éteint : {zone}{until}{source}{measured}",
        "en": "Heating of people off: {zone}{until}{source}{measured}",
    },
    "heat_rise_limit": {
        "fr": "Chauffage en pause : {zone}, montée en température limitée à {rate} °C/h{measured}",
        "en": "Heating paused: {zone}, warm-up limited to {rate} °C/h{measured}",
    },
    "heat_max_on": {
        "fr": "Chauffage coupé : {zone}, durée maximale de marche continue atteinte ({hours} h)",
        "en": "Heating cut: {zone}, maximum continuous run reached ({hours} h)",
    },
    "heat_min_on": {
        "fr": "Chauffage maintenu allumé : {zone}, durée minimale de marche ({minutes} min){measured}",
        "en": "Heating kept on: {zone}, minimum on time ({minutes} min){measured}",
    },
    "heat_on_hold": {
        "fr": "Chauffage maintenu : {zone}, à l’arrêt {minutes} min l’air retomberait sous la consigne "
        "(structure encore froide){measured}",
        "en": "Heating kept on: {zone}, {minutes} min off would let the air fall below the target "
        "(structure still cold){measured}",
    },
    "heat_min_off": {
        "fr": "Chauffage maintenu éteint : {zone}, durée minimale d’arrêt ({minutes} min){measured}",
        "en": "Heating kept off: {zone}, minimum off time ({minutes} min){measured}",
    },
    # pilot wire
    "pilot_order": {
        "fr": "Fil pilote : {zone}, ordre {order}{asked}{until}{source}{measured}",
        "en": "Pilot wire: {zone}, order {order}{asked}{until}{source}{measured}",
    },
    "pilot_window": {
        "fr": "Fil pilote : {zone}, ordre {order} (fenêtre ouverte){measured}",
        "en": "Pilot wire: {zone}, order {order} (window open){measured}",
    },
    # notices
    "window_open": {
        "fr": "Fenêtre ouverte : {zone}{contact}, chauffage coupé jusqu’à {until} au plus tard",
        "en": "Window open: {zone}{contact}, heating cut until {until} at the latest",
    },
    "window_open_end": {"fr": "Fenêtre refermée : {subject}", "en": "Window closed: {subject}"},
    "sensor_stale": {
        "fr": "Température indisponible : {zone}, aucune mesure récente{minutes_ago} ; mode sécurité ({safe})",
        "en": "Temperature unavailable: {zone}, no recent reading{minutes_ago}; fail-safe ({safe})",
    },
    "preheat_late": {
        "fr": "Relance trop courte : {zone} sera en retard d’environ {late} pour{label} {start} "
        "(il faudrait {lead_h} h de relance, plafond max_preheat_h = {cap_h} h)",
        "en": "Preheat too short: {zone} will be about {late} late for{label} {start} "
        "(it needs {lead_h} h, capped by max_preheat_h = {cap_h} h)",
    },
    "preheat_late_end": {"fr": "Relance de nouveau à temps : {subject}", "en": "Preheat on time again: {subject}"},
    "people_short": {
        "fr": "Chauffage des personnes insuffisant : {zone} n’est qu’à {air} °C ; à pleine puissance les "
        "émetteurs n’apportent qu’environ {boost} °C, soit un ressenti d’environ {felt} °C pour{label} {start} "
        "(visé {target}) — chauffer le volume, ou prévoir une autre salle",
        "en": "Heating of people not enough: {zone} is only at {air} °C; at full power the heaters add about "
        "{boost} °C, a felt temperature of about {felt} °C for{label} {start} (target {target}) — heat the "
        "room, or plan another one",
    },
    "people_short_end": {
        "fr": "Chauffage des personnes de nouveau suffisant : {subject}",
        "en": "Heating of people enough again: {subject}",
    },
    "no_show": {
        "fr": "Personne n’est venu : {zone},{label} commencé à {since}, aucune présence depuis {minutes} min : "
        "chauffage en réduit",
        "en": "Nobody came: {zone},{label} started at {since}, no presence for {minutes} min: heating at eco",
    },
    "no_show_end": {"fr": "Présence de nouveau : {subject}", "en": "Presence again: {subject}"},
    "sensor_stale_end": {
        "fr": "Température de nouveau disponible : {subject}",
        "en": "Temperature available again: {subject}",
    },
    "heater_max_on_end": {
        "fr": "Chauffage de nouveau autorisé : {subject}",
        "en": "Heating allowed again: {subject}",
    },
    "leak_night": {
        "fr": "Fuite d’eau probable : {meter}, débit minimal nocturne {flow_lph} l/h pendant {nights} nuits "
        "consécutives ({hours} h observées)",
        "en": "Probable water leak: {meter}, minimum night flow {flow_lph} l/h for {nights} consecutive "
        "nights ({hours} h observed)",
    },
    "leak_continuous": {
        "fr": "Fuite d’eau probable : {meter}, aucune heure sans consommation sur {hours} h (minimum {flow_lph} l/h)",
        "en": "Probable water leak: {meter}, no zero-flow hour in {hours} h (minimum {flow_lph} l/h)",
    },
    "leak_latched": {
        "fr": "Alerte fuite d’eau en cours : {meter} (à acquitter)",
        "en": "Water leak alarm active: {meter} (to acknowledge)",
    },
    "leak_end": {"fr": "Alerte fuite levée : {subject}", "en": "Leak alarm cleared: {subject}"},
    "valve_open": {
        "fr": "Vanne ouverte : {meter}, pas d’alerte fuite",
        "en": "Valve open: {meter}, no leak alarm",
    },
    "valve_closed": {
        "fr": "Vanne fermée : {meter}, alerte fuite (à acquitter)",
        "en": "Valve closed: {meter}, leak alarm (to acknowledge)",
    },
    # lighting
    "light_override_on": {
        "fr": "Éclairage allumé : {circuit}, commande manuelle{label}{until}",
        "en": "Lighting on: {circuit}, manual order{label}{until}",
    },
    "light_override_off": {
        "fr": "Éclairage éteint : {circuit}, commande manuelle{label}{until}",
        "en": "Lighting off: {circuit}, manual order{label}{until}",
    },
    "light_off_unoccupied": {
        "fr": "Éclairage éteint : {circuit}, bâtiment inoccupé depuis plus de {minutes} min "
        "(arrêté du 27 décembre 2018)",
        "en": "Lighting off: {circuit}, building unoccupied for more than {minutes} min (arrêté of 27 December 2018)",
    },
    "light_off_daylight": {
        "fr": "Éclairage éteint : {circuit}, jour (lever {sunrise}, coucher {sunset})",
        "en": "Lighting off: {circuit}, daylight (sunrise {sunrise}, sunset {sunset})",
    },
    "light_off_night_cut": {
        "fr": "Éclairage éteint : {circuit}, coupure de nuit {start}–{end}",
        "en": "Lighting off: {circuit}, night cut {start}–{end}",
    },
    "light_on_presence": {
        "fr": "Éclairage allumé : {circuit}, présence détectée ({input}){until}",
        "en": "Lighting on: {circuit}, presence detected ({input}){until}",
    },
    "light_on_occupancy": {
        "fr": "Éclairage allumé : {circuit}, bâtiment occupé, nuit (coucher {sunset})",
        "en": "Lighting on: {circuit}, building occupied, night (sunset {sunset})",
    },
    "light_on_dark": {
        "fr": "Éclairage allumé : {circuit}, nuit (coucher du soleil {sunset})",
        "en": "Lighting on: {circuit}, night (sunset {sunset})",
    },
    "light_on_schedule": {"fr": "Éclairage allumé : {circuit}", "en": "Lighting on: {circuit}"},
    # lighting while the clock is not trusted (no sunset, night cut nor override without a true time)
    "light_clock_dusk_on": {
        "fr": "Éclairage allumé : {circuit}, horloge non fiable, l’interrupteur crépusculaire ({input}) "
        "indique la nuit",
        "en": "Lighting on: {circuit}, clock not trusted, the twilight switch ({input}) says it is dark",
    },
    "light_clock_dusk_off": {
        "fr": "Éclairage éteint : {circuit}, horloge non fiable, l’interrupteur crépusculaire ({input}) "
        "indique le jour",
        "en": "Lighting off: {circuit}, clock not trusted, the twilight switch ({input}) says it is daylight",
    },
    "light_clock_off": {
        "fr": "Éclairage éteint : {circuit}, horloge non fiable (ni horaires ni commandes tant que l’heure "
        "n’est pas synchronisée)",
        "en": "Lighting off: {circuit}, clock not trusted (no schedule nor manual order until the time is "
        "synchronised)",
    },
}

MODE_NAMES = {
    "fr": {"confort": "confort", "reduit": "réduit", "hors_gel": "hors-gel", "arret": "arrêt"},
    "en": {"confort": "comfort", "reduit": "eco", "hors_gel": "frost protection", "arret": "off"},
}
ORDER_NAMES = {
    "fr": {"confort": "confort", "eco": "éco", "hors_gel": "hors-gel", "arret": "arrêt"},
    "en": {"confort": "comfort", "eco": "eco", "hors_gel": "frost protection", "arret": "off"},
}
SAFE_NAMES = {
    "fr": {
        "duty": "hors-gel par cycles",
        "off": "chauffage coupé",
        "pilot": "convecteurs autonomes",
        "model": "chauffe guidée par le modèle du bâtiment et la température extérieure",
        "model_blind": "chauffe guidée par le modèle du bâtiment, hors-gel pour une nuit à −10 °C "
        "(température extérieure inconnue)",
        "people": "chauffage des personnes aux horaires",
    },
    "en": {
        "duty": "frost-protection cycles",
        "off": "heating off",
        "pilot": "convectors self-regulating",
        "model": "heating guided by the building's model and the outdoor temperature",
        "model_blind": "heating guided by the building's model, frost protection for a −10 °C night "
        "(outdoor temperature unknown)",
        "people": "heating of people on schedule",
    },
}
DAY_NAMES = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
TOMORROW = {"fr": "demain", "en": "tomorrow"}
#: where a mode comes from: the phrase after the target
SOURCES = {
    "fr": {
        "schedule": "",
        "exception": " (période « {label} »)",
        "holiday": " (jour férié)",
        "booking": " (réservation « {label} »)",
        "booking-": " (commande manuelle)",
        "unoccupied": " (inoccupé)",
        "preheat": " (relance pour « {label} »)",
        "preheat-": " (relance avant l’occupation)",
        "no_show": " (personne n’est venu pour « {label} »)",
        "no_show-": " (personne n’est venu)",
        "setback": " (inoccupé : abaissement tant que la relance tient dans le temps)",
        "clock": " (horloge non fiable : mode de sécurité, horaires et réservations suspendus)",
    },
    "en": {
        "schedule": "",
        "exception": " (period '{label}')",
        "holiday": " (public holiday)",
        "booking": " (booking '{label}')",
        "booking-": " (manual order)",
        "unoccupied": " (unoccupied)",
        "preheat": " (preheating for '{label}')",
        "preheat-": " (preheating before occupancy)",
        "no_show": " (nobody came for '{label}')",
        "no_show-": " (nobody came)",
        "setback": " (unoccupied: setback while the recovery fits in time)",
        "clock": " (clock not trusted: safe mode, schedules and bookings set aside)",
    },
}


def temperature(value: ParamValue | None, lang: Lang) -> str:
    """``17.8`` -> ``"17,8 °C"`` (fr) / ``"17.8 °C"`` (en); whole degrees without decimals."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "?"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return (text.replace(".", ",") if lang == "fr" else text) + " °C"


def clock(value: ParamValue | None, day: ParamValue | None, lang: Lang) -> str:
    """``"23:00"`` -> ``"23 h 00"`` (fr) / ``"23:00"`` (en), with the day when it is not today."""
    if not isinstance(value, str):
        return "?"
    text = value.replace(":", " h ") if lang == "fr" else value
    if day is None:
        return text
    prefix = TOMORROW[lang] if day == "+1" else DAY_NAMES[lang][int(str(day)) % 7]
    return f"{prefix} {text}"


def _number(value: ParamValue | None, lang: Lang) -> str:
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if lang == "fr" else text
    return "?" if value is None else str(value)


def render(reason: Reason, lang: Lang = "fr") -> str:
    """The reason in plain words; an unknown code or language falls back to the code itself."""
    lang = lang if lang in MODE_NAMES else "fr"
    template = TEMPLATES.get(reason.code, {}).get(lang)
    p: Mapping[str, ParamValue] = dict(reason.params)
    if template is None:
        return reason.code + "".join(f" {k}={v}" for k, v in reason.params)
    words: dict[str, str] = {key: _number(value, lang) for key, value in p.items()}
    words["mode"] = MODE_NAMES[lang].get(str(p.get("mode")), str(p.get("mode", "?")))
    words["order"] = ORDER_NAMES[lang].get(str(p.get("order")), str(p.get("order", "?")))
    words["safe"] = SAFE_NAMES[lang].get(str(p.get("safe")), str(p.get("safe", "?")))
    words["target"] = temperature(p.get("target"), lang)
    if p.get("setpoint") is True:  # a booking's own temperature, not the mode's setpoint
        words["mode"] = "consigne demandée" if lang == "fr" else "requested setpoint"
        words["asked"] = (" (consigne demandée " if lang == "fr" else " (requested setpoint ") + words["target"] + ")"
    else:
        words["asked"] = ""
    until_word = " jusqu’à " if lang == "fr" else " until "
    words["until"] = until_word + clock(p["until"], p.get("until_day"), lang) if "until" in p else ""
    if reason.code == "window_open":
        words["until"] = clock(p.get("until"), p.get("until_day"), lang)
    measured_word = ", mesuré " if lang == "fr" else ", measured "
    words["measured"] = measured_word + temperature(p["measured"], lang) if "measured" in p else ""
    source = str(p.get("source", ""))
    key = source if "label" in p or source not in ("booking", "preheat", "no_show") else f"{source}-"
    words["source"] = SOURCES[lang].get(key, "").format(label=p.get("label", ""))
    if p.get("coast") is True:
        words["source"] += (
            " (arrêt optimisé : l’inertie suffit jusqu’à la fin)"
            if lang == "fr"
            else (" (optimum stop: the building's inertia lasts to the end)")
        )
    for name in ("estimated",):
        words[f"{name}_c"] = temperature(p.get(name), lang)
    late = p.get("late_min")
    if late == "never":
        words["late"] = (
            "toute la durée (la consigne ne sera pas atteinte)"
            if lang == "fr"
            else "throughout (the target will not be reached)"
        )
    elif late is not None:
        words["late"] = f"{late} min"
    words["label"] = (f" « {p['label']} »" if lang == "fr" else f" '{p['label']}'") if "label" in p else ""
    for name in ("sunset", "sunrise", "start", "end", "since"):
        if name in p:
            words[name] = clock(p[name], p.get(f"{name}_day"), lang)
    words["contact"] = f" (contact {p['contact']})" if "contact" in p else ""
    words["minutes_ago"] = (
        (f" depuis {p['minutes']} min" if lang == "fr" else f" for {p['minutes']} min") if "minutes" in p else ""
    )
    return template.format_map(_Default(words))


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"
