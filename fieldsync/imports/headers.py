"""The words of client files: column headers and cell values in English, Italian, French,
Spanish and German, compared case- and accent-insensitively (``fold``).

A header names one *field* of the import: an account field (``name``, ``vat_number``,
``postal_code``, ...), ``owner`` (a user's email), ``latitude``/``longitude``, or a contact
field (``contact_name``, ``contact_email``, ...). A mapping file can override any of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

from fieldsync.exceptions import ValidationError

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, accents and punctuation off, words single-spaced: ``"Città "`` → ``citta``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", plain).strip()


@lru_cache(maxsize=8192)
def fold_word(text: str) -> str:
    """``fold`` for cell values looked up in a vocabulary (a few hundred distinct words in
    a file of any size: cached)."""
    return fold(text)


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split("|") if word.strip()]


# field -> aliases, one "|"-separated string per field (English, Italian, French, Spanish,
# German, in that order where they differ).
_HEADER_ALIASES: dict[str, str] = {
    "id": "id|account id|record id|uuid",
    "name": """company|company name|account|account name|business name|organisation|
        organization|customer|customer name|client name|ragione sociale|denominazione|
        denominazione sociale|azienda|nome azienda|societa|nome cliente|cliente|
        raison sociale|entreprise|societe|nom de l entreprise|nom de la societe|
        razon social|empresa|nombre de la empresa|nombre empresa|denominacion social|
        firma|firmenname|unternehmen|kunde|kundenname|name der firma""",
    # Ambiguous words: a first name when the file also has a last name, else the name.
    "name_or_first_name": "name|nome|nom|nombre",
    "kind": """kind|type|account type|customer type|tipo|tipologia|tipo cliente|
        type de client|type de compte|tipo de cliente|tipo de cuenta|typ|art|kundentyp""",
    "status": """status|customer status|account status|stato|stato cliente|statut|
        statut client|estado|estado del cliente|kundenstatus""",
    "title": "title|salutation|titolo|titre|civilite|tratamiento|anrede",
    "first_name": """first name|firstname|given name|forename|nome di battesimo|prenom|
        nombre de pila|vorname""",
    "last_name": """last name|lastname|surname|family name|cognome|nom de famille|apellido|
        apellidos|nachname|familienname""",
    "email": """email|e mail|mail|email address|e mail address|indirizzo email|
        indirizzo e mail|posta elettronica|courriel|adresse email|adresse e mail|correo|
        correo electronico|e mail adresse|email adresse""",
    "phone": """phone|telephone|phone number|tel|landline|office phone|telefono|
        numero di telefono|telefono fisso|numero de telephone|numero de telefono|telefon|
        telefonnummer|festnetz""",
    "mobile": """mobile|mobile phone|cell|cell phone|cellphone|cellulare|telefono cellulare|
        portable|telephone portable|movil|telefono movil|celular|handy|mobil|
        mobiltelefon|mobilnummer""",
    "website": """website|web site|web|site|url|homepage|sito|sito web|sito internet|
        site web|site internet|sitio web|pagina web|web seite|webseite|internetseite""",
    "industry": """industry|sector|business sector|settore|settore merceologico|industria|
        secteur|secteur d activite|sector de actividad|branche|industrie""",
    "vat_number": """vat|vat number|vat no|vat id|vat reg no|tax id|tax number|partita iva|
        p iva|piva|p iva cf|numero iva|tva|numero de tva|n tva|no tva|tva intracommunautaire|
        numero tva intracommunautaire|nif|cif|nif cif|numero de iva|nif iva|ust idnr|
        ust id|ust id nr|ustidnr|umsatzsteuer id|umsatzsteuer identifikationsnummer|uid""",
    "legal_form": """legal form|company type|forma giuridica|forma societaria|
        forme juridique|forma juridica|rechtsform""",
    "annual_revenue": """revenue|annual revenue|turnover|annual turnover|sales|fatturato|
        fatturato annuo|chiffre d affaires|ca|ca annuel|facturacion|facturacion anual|
        ingresos|ventas|umsatz|jahresumsatz""",
    "employees": """employees|employee count|number of employees|headcount|staff|
        dipendenti|numero dipendenti|n dipendenti|addetti|employes|nombre d employes|
        effectif|salaries|empleados|numero de empleados|plantilla|mitarbeiter|
        anzahl mitarbeiter|mitarbeiterzahl|beschaftigte""",
    "street": """street|address|street address|address line|address 1|address line 1|
        indirizzo|via|indirizzo sede|adresse|rue|adresse postale|direccion|calle|domicilio|
        strasse|anschrift|strasse und hausnummer""",
    "postal_code": """postal code|postcode|post code|zip|zip code|zipcode|cap|
        codice postale|code postal|cp|codigo postal|c p|plz|postleitzahl""",
    "city": """city|town|locality|citta|comune|localita|ville|commune|localite|ciudad|
        localidad|poblacion|municipio|stadt|ort|gemeinde|wohnort""",
    "region": """region|state province|province|county|state|regione|provincia|
        departement|comunidad autonoma|bundesland|kanton""",
    "country": """country|country code|nation|nazione|paese|pais|pays|land|staat""",
    "latitude": "latitude|lat|latitudine|latitud|breitengrad|breite",
    "longitude": "longitude|lon|lng|long|longitudine|longitud|langengrad|lange",
    "owner": """owner|account owner|owner email|sales rep|rep|agente|commerciale|
        responsabile|venditore|proprietaire|commercial|responsable|propietario|comercial|
        vendedor|betreuer|verantwortlicher|aussendienst|vertreter|zustandig""",
    "tags": "tags|tag|labels|etichette|etiquettes|etiquetas|schlagworter|stichworter",
    "color": "color|colour|colore|couleur|farbe",
    "contact_preference": """contact preference|preferred contact|contatto preferito|
        preference de contact|preferencia de contacto|kontaktweg|bevorzugter kontakt""",
    "visit_every_days": """visit every days|visit every|visit frequency|visit frequency days|
        visit interval|frequenza visite|frequenza visite giorni|frequence de visite|
        frecuencia de visita|besuchsintervall|besuchsintervall tage""",
    "notes": """notes|note|remarks|comments|comment|commenti|osservazioni|remarques|
        commentaires|notas|observaciones|comentarios|notizen|bemerkungen|anmerkungen|
        kommentar""",
    "contact_name": """contact|contact name|contact person|main contact|referente|
        persona di riferimento|persona di contatto|contatto|interlocuteur|
        nom du contact|personne a contacter|persona de contacto|contacto|
        nombre del contacto|ansprechpartner|kontaktperson|kontakt""",
    "contact_first_name": """contact first name|first name contact|nome referente|
        nome contatto|prenom du contact|prenom contact|nombre contacto|
        vorname ansprechpartner|ansprechpartner vorname""",
    "contact_last_name": """contact last name|last name contact|cognome referente|
        cognome contatto|nom de famille du contact|nom contact|apellido del contacto|
        apellido contacto|nachname ansprechpartner|ansprechpartner nachname""",
    "contact_email": """contact email|contact e mail|email contact|email referente|
        email contatto|e mail referente|e mail du contact|email du contact|courriel contact|
        correo del contacto|email contacto|correo contacto|e mail ansprechpartner|
        email ansprechpartner|ansprechpartner e mail|ansprechpartner email""",
    "contact_phone": """contact phone|contact telephone|phone contact|telefono referente|
        telefono contatto|cellulare referente|telephone du contact|telephone contact|
        telefono del contacto|telefono contacto|telefon ansprechpartner|
        ansprechpartner telefon""",
    "contact_role": """contact role|contact title|job title|position|role|ruolo|
        ruolo referente|qualifica|fonction|poste|cargo|puesto|funktion|rolle""",
}

HEADER_ALIASES: dict[str, str] = {
    fold(alias): field for field, words in _HEADER_ALIASES.items() for alias in _words(words)
}
FIELDS = frozenset(f for f in _HEADER_ALIASES if f != "name_or_first_name")
CONTACT_FIELDS = frozenset(
    f for f in FIELDS if f.startswith("contact_") and f != "contact_preference"
)


def recognise(header: str) -> str | None:
    """The field a header names, or None."""
    return HEADER_ALIASES.get(fold(header))


def resolve_headers(
    headers: Iterable[object], mapping: Mapping[str, str | None] | None = None
) -> dict[int, str]:
    """Column index → field for a header row; the mapping (file header → field, or null to
    ignore the column) wins over the vocabulary. A field is taken by its first column."""
    folded_mapping = {fold(str(k)): v for k, v in (mapping or {}).items()}
    found: dict[int, str] = {}
    for index, raw in enumerate(headers):
        if raw is None or not str(raw).strip():
            continue
        key = fold(str(raw))
        field = folded_mapping[key] if key in folded_mapping else HEADER_ALIASES.get(key)
        if field is not None and field not in found.values():
            found[index] = field
    fields = set(found.values())
    # "Nome" beside "Cognome" is a first name; alone (or beside a first name) the name.
    if "last_name" in fields and "first_name" not in fields:
        found = {i: ("first_name" if f == "name_or_first_name" else f) for i, f in found.items()}
    else:
        found = {i: ("name" if f == "name_or_first_name" else f) for i, f in found.items()}
    # The same field twice (a name and a "name" word) keeps the first column.
    seen: set[str] = set()
    unique: dict[int, str] = {}
    for index in sorted(found):
        if found[index] not in seen:
            seen.add(found[index])
            unique[index] = found[index]
    return unique


def check_mapping(mapping: object) -> dict[str, str | None]:
    """Validate a mapping file's content: ``{"file header": "field" | null}``."""
    if not isinstance(mapping, dict):
        raise ValidationError(
            "The mapping must be a JSON object.", fields={"mapping": ["Not an object."]}
        )
    problems: dict[str, list[str]] = {}
    for header, field in mapping.items():
        if field is not None and field not in FIELDS:
            problems[f"mapping.{header}"] = [
                f"Unknown field; use one of {', '.join(sorted(FIELDS))}."
            ]
    if problems:
        raise ValidationError("The mapping names unknown fields.", fields=problems)
    return {str(k): v for k, v in mapping.items()}


# --- values ----------------------------------------------------------------------------------


def _vocabulary(table: dict[str, str]) -> dict[str, str]:
    return {fold(word): value for value, words in table.items() for word in _words(words)}


STATUS_WORDS = _vocabulary(
    {
        "lead": """lead|leads|new lead|contatto|nuovo contatto|segnalazione|piste|
            contact entrant|oportunidad|neukontakt""",
        "prospect": """prospect|prospects|potential customer|potential|opportunity|
            potenziale|cliente potenziale|prospetto|potenziale cliente|
            client potentiel|prospect client|cliente potencial|prospecto|potencial|
            interessent|potenzieller kunde|interessiert""",
        "customer": """customer|customers|client|clients|active|active customer|cliente|
            clienti|attivo|cliente attivo|client actif|actif|activo|cliente activo|kunde|
            kunden|aktiv|aktiver kunde|bestandskunde""",
        "inactive": """inactive|former customer|lost|churned|closed|inattivo|ex cliente|
            cliente inattivo|perso|inactif|ancien client|perdu|inactivo|antiguo cliente|
            perdido|inaktiv|ehemaliger kunde|verloren""",
    }
)

KIND_WORDS = _vocabulary(
    {
        "company": """company|business|organisation|organization|b2b|azienda|societa|
            impresa|ditta|entreprise|societe|empresa|sociedad|firma|unternehmen|
            gesellschaft""",
        "person": """person|individual|private|consumer|b2c|persona|privato|persona fisica|
            personne|particulier|personne physique|particular|privatperson|
            privatkunde""",
    }
)

CONTACT_PREFERENCE_WORDS = _vocabulary(
    {
        "email": "email|e mail|mail|posta elettronica|courriel|correo|correo electronico",
        "phone": "phone|telephone|call|telefono|telefonata|appel|llamada|telefon|anruf",
        "sms": "sms|text|text message|messaggio|texto|mensaje|nachricht",
        "visit": "visit|visita|visite|besuch|in person|di persona|en personne|en persona",
    }
)

# Country names in the five languages (and common English variants) → ISO 3166-1 alpha-2.
_COUNTRIES: dict[str, str] = {
    "IT": "italy|italia|italie|italien|repubblica italiana|ita",
    "FR": "france|francia|frankreich|republique francaise|fra",
    "ES": "spain|spagna|espagne|espana|spanien|esp",
    "DE": "germany|germania|allemagne|alemania|deutschland|bundesrepublik deutschland|deu|ger",
    "AT": "austria|autriche|osterreich|aut",
    "CH": "switzerland|svizzera|suisse|suiza|schweiz|che",
    "BE": "belgium|belgio|belgique|belgica|belgien|bel",
    "NL": (
        "netherlands|the netherlands|holland|paesi bassi|olanda|pays bas|paises bajos|"
        "holanda|niederlande|nld"
    ),
    "LU": "luxembourg|lussemburgo|luxemburgo|luxemburg|lux",
    "PT": "portugal|portogallo|prt",
    "GB": (
        "united kingdom|uk|great britain|britain|england|scotland|wales|regno unito|"
        "inghilterra|gran bretagna|royaume uni|angleterre|reino unido|inglaterra|"
        "vereinigtes konigreich|grossbritannien|gbr"
    ),
    "IE": "ireland|irlanda|irlande|irland|irl",
    "US": (
        "united states|united states of america|usa|us|america|stati uniti|etats unis|"
        "estados unidos|vereinigte staaten"
    ),
    "CA": "canada|kanada|can",
    "MX": "mexico|messico|mexique|mexiko|mex",
    "BR": "brazil|brasile|bresil|brasil|brasilien|bra",
    "AR": "argentina|argentine|argentinien|arg",
    "DK": "denmark|danimarca|danemark|dinamarca|dnk",
    "SE": "sweden|svezia|suede|suecia|schweden|swe",
    "NO": "norway|norvegia|norvege|noruega|norwegen|nor",
    "FI": "finland|finlandia|finlande|finnland|fin",
    "PL": "poland|polonia|pologne|polen|pol",
    "CZ": (
        "czech republic|czechia|repubblica ceca|cechia|republique tcheque|tchequie|"
        "republica checa|chequia|tschechien|tschechische republik|cze"
    ),
    "SK": "slovakia|slovacchia|slovaquie|eslovaquia|slowakei|svk",
    "HU": "hungary|ungheria|hongrie|hungria|ungarn|hun",
    "SI": "slovenia|slovenie|eslovenia|slowenien|svn",
    "HR": "croatia|croazia|croatie|croacia|kroatien|hrv",
    "RO": "romania|roumanie|rumania|rumanien|rou",
    "BG": "bulgaria|bulgarie|bulgarien|bgr",
    "GR": "greece|grecia|grece|griechenland|grc",
    "CY": "cyprus|cipro|chypre|chipre|zypern|cyp",
    "MT": "malta|malte|mlt",
    "EE": "estonia|estonie|estland|est",
    "LV": "latvia|lettonia|lettonie|letonia|lettland|lva",
    "LT": "lithuania|lituania|lituanie|litauen|ltu",
    "SM": "san marino|saint marin|smr",
    "VA": "vatican|vatican city|citta del vaticano|vaticano|cite du vatican|vatikan|vat",
    "MC": "monaco|mco",
    "AD": "andorra|andorre|and",
    "LI": "liechtenstein|lie",
    "TR": "turkey|turkiye|turchia|turquie|turquia|turkei|tur",
    "RU": "russia|russie|rusia|russland|rus",
    "UA": "ukraine|ucraina|ucrania|ukr",
    "CN": "china|cina|chine|chn",
    "JP": "japan|giappone|japon|jpn",
    "IN": "india|inde|indien|ind",
    "AU": "australia|australie|australien|aus",
    "MA": "morocco|marocco|maroc|marruecos|marokko|mar",
    "TN": "tunisia|tunisie|tunez|tunesien|tun",
    "DZ": "algeria|algerie|argelia|algerien|dza",
    "EG": "egypt|egitto|egypte|egipto|agypten|egy",
    "IL": "israel|israele|isr",
    "AE": (
        "united arab emirates|uae|emirati arabi uniti|emirats arabes unis|"
        "emiratos arabes unidos|vereinigte arabische emirate|are"
    ),
    "ZA": "south africa|sudafrica|afrique du sud|sudafrika|zaf",
    "CL": "chile|cile|chili|chl",
    "CO": "colombia|colombie|kolumbien|col",
    "PE": "peru|perou|per",
}
COUNTRY_WORDS = _vocabulary(_COUNTRIES)
