"""Word lists and real places the demo organisation is generated from (see ``fieldsync.demo``).

Cities carry their real centre coordinates, a few of their real postal codes and the local
dialling code of their landlines; the weight says how many accounts a city draws.
"""

from __future__ import annotations

from typing import NamedTuple


class City(NamedTuple):
    name: str
    region: str
    lat: float
    lon: float
    postal_codes: tuple[str, ...]
    area_code: str
    weight: int


class CountryData(NamedTuple):
    code: str
    share: int  # relative number of accounts
    tld: str
    street_format: str  # "{street}" and house number "{n}" in the local order
    cities: tuple[City, ...]
    surnames: tuple[str, ...]
    first_names: tuple[str, ...]
    streets: tuple[str, ...]
    trades: tuple[tuple[str, str], ...]  # (shop word, industry)
    legal_forms: tuple[str, ...]  # the first one is the most common
    family_patterns: tuple[str, ...]  # names built from surnames alone
    person_titles: tuple[tuple[str, str], ...]  # (title, industry) of person accounts
    contact_roles: tuple[str, ...]


# fmt: off
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# Weekly opening hours by country: shop hours (closed days left out), then office hours.
OPENING_HOURS: dict[str, tuple[dict[str, list[list[str]]], ...]] = {
    "IT": (
        {day: [["08:30", "12:30"], ["15:00", "19:00"]] for day in WEEKDAYS}
        | {"sat": [["09:00", "12:30"]]},
        {day: [["09:00", "13:00"], ["14:00", "18:00"]] for day in WEEKDAYS},
    ),
    "FR": (
        {day: [["09:00", "12:00"], ["14:00", "19:00"]] for day in (*WEEKDAYS[1:], "sat")},
        {day: [["08:30", "12:30"], ["13:30", "17:30"]] for day in WEEKDAYS},
    ),
    "ES": (
        {day: [["09:30", "14:00"], ["17:00", "20:30"]] for day in WEEKDAYS}
        | {"sat": [["10:00", "14:00"]]},
        {day: [["08:00", "15:00"]] for day in WEEKDAYS},
    ),
    "DE": (
        {day: [["08:00", "18:00"]] for day in WEEKDAYS} | {"sat": [["09:00", "14:00"]]},
        {day: [["07:30", "16:30"]] for day in WEEKDAYS},
    ),
}

ITALY = CountryData(
    code="IT",
    share=35,
    tld="it",
    street_format="{street} {n}",
    cities=(
        City("Milano", "Lombardia", 45.4642, 9.1900,
             ("20121", "20122", "20123", "20135", "20145", "20154"), "02", 12),
        City("Bergamo", "Lombardia", 45.6983, 9.6773, ("24121", "24122", "24125"), "035", 4),
        City("Brescia", "Lombardia", 45.5416, 10.2118, ("25121", "25122", "25128"), "030", 4),
        City("Monza", "Lombardia", 45.5845, 9.2744, ("20900",), "039", 3),
        City("Como", "Lombardia", 45.8081, 9.0852, ("22100",), "031", 2),
        City("Varese", "Lombardia", 45.8206, 8.8251, ("21100",), "0332", 2),
        City("Pavia", "Lombardia", 45.1847, 9.1582, ("27100",), "0382", 2),
        City("Torino", "Piemonte", 45.0703, 7.6869,
             ("10121", "10122", "10123", "10128", "10138", "10143"), "011", 5),
        City("Genova", "Liguria", 44.4056, 8.9463, ("16121", "16122", "16128"), "010", 2),
        City("Verona", "Veneto", 45.4384, 10.9916, ("37121", "37122"), "045", 2),
        City("Padova", "Veneto", 45.4064, 11.8768, ("35121", "35122", "35131"), "049", 2),
        City("Bologna", "Emilia-Romagna", 44.4949, 11.3426, ("40121", "40122", "40125"), "051", 3),
        City("Firenze", "Toscana", 43.7696, 11.2558, ("50121", "50122", "50123"), "055", 3),
        City("Roma", "Lazio", 41.9028, 12.4964,
             ("00184", "00185", "00186", "00187", "00197"), "06", 5),
        City("Napoli", "Campania", 40.8518, 14.2681, ("80121", "80132", "80134"), "081", 2),
    ),
    surnames=(
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
        "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
        "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
        "Caruso", "Ferrara", "Galli", "Martini", "Leone",
    ),
    first_names=(
        "Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Andrea", "Sara",
        "Matteo", "Elena", "Davide", "Valentina", "Lorenzo", "Martina", "Simone", "Federica",
        "Paolo", "Silvia", "Giorgio", "Anna",
    ),
    streets=(
        "Via Roma", "Via Giuseppe Garibaldi", "Corso Vittorio Emanuele II", "Via Giuseppe Mazzini",
        "Viale della Repubblica", "Via Camillo Cavour", "Piazza del Duomo", "Via XX Settembre",
        "Corso Italia", "Via Dante Alighieri", "Via Alessandro Manzoni", "Viale Europa",
        "Via Milano", "Via Torino", "Via Nazionale", "Via San Francesco",
    ),
    trades=(
        ("Ferramenta", "Hardware"), ("Panificio", "Bakery"), ("Farmacia", "Pharmacy"),
        ("Ottica", "Optician"), ("Autofficina", "Automotive"), ("Tipografia", "Printing"),
        ("Enoteca", "Wine & spirits"), ("Elettroforniture", "Electrical supplies"),
        ("Arredamenti", "Furniture"), ("Termoidraulica", "Plumbing & heating"),
        ("Alimentari", "Food retail"), ("Trattoria", "Hospitality"),
        ("Edilizia", "Construction"), ("Fioreria", "Florist"), ("Cartoleria", "Stationery"),
        ("Profumeria", "Beauty"),
    ),
    legal_forms=("Srl", "S.n.c.", "S.a.s.", "S.p.A."),
    family_patterns=("{a} & Figli", "Fratelli {a}", "{a} & {b}"),
    person_titles=(("Arch.", "Architecture"), ("Avv.", "Legal services"),
                   ("Ing.", "Engineering"), ("Rag.", "Accounting")),
    contact_roles=("Titolare", "Responsabile acquisti", "Amministrazione", "Magazzino",
                   "Direttore commerciale"),
)

FRANCE = CountryData(
    code="FR",
    share=25,
    tld="fr",
    street_format="{n} {street}",
    cities=(
        City("Paris", "Île-de-France", 48.8566, 2.3522,
             ("75001", "75003", "75008", "75011", "75015", "75017", "75019"), "1", 12),
        City("Boulogne-Billancourt", "Île-de-France", 48.8397, 2.2399, ("92100",), "1", 2),
        City("Saint-Denis", "Île-de-France", 48.9362, 2.3574, ("93200",), "1", 2),
        City("Versailles", "Île-de-France", 48.8049, 2.1204, ("78000",), "1", 2),
        City("Nanterre", "Île-de-France", 48.8924, 2.2071, ("92000",), "1", 1),
        City("Montreuil", "Île-de-France", 48.8638, 2.4485, ("93100",), "1", 1),
        City("Créteil", "Île-de-France", 48.7904, 2.4556, ("94000",), "1", 1),
        City("Lyon", "Auvergne-Rhône-Alpes", 45.7640, 4.8357,
             ("69001", "69002", "69003", "69006", "69007"), "4", 5),
        City("Marseille", "Provence-Alpes-Côte d'Azur", 43.2965, 5.3698,
             ("13001", "13006", "13008"), "4", 3),
        City("Lille", "Hauts-de-France", 50.6292, 3.0573, ("59000", "59800"), "3", 2),
        City("Bordeaux", "Nouvelle-Aquitaine", 44.8378, -0.5792, ("33000", "33300"), "5", 2),
        City("Toulouse", "Occitanie", 43.6047, 1.4442, ("31000", "31400"), "5", 2),
        City("Nantes", "Pays de la Loire", 47.2184, -1.5536, ("44000", "44100"), "2", 2),
        City("Strasbourg", "Grand Est", 48.5734, 7.7521, ("67000",), "3", 1),
        City("Rouen", "Normandie", 49.4432, 1.0999, ("76000",), "2", 1),
    ),
    surnames=(
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
        "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert",
        "Bonnet", "François", "Faure", "Rousseau",
    ),
    first_names=(
        "Julien", "Camille", "Nicolas", "Marie", "Thomas", "Sophie", "Antoine", "Julie", "Pierre",
        "Claire", "Maxime", "Émilie", "Guillaume", "Laura", "Sébastien", "Céline", "Hugo",
        "Manon", "Olivier", "Isabelle",
    ),
    streets=(
        "rue de la République", "avenue Victor Hugo", "boulevard Voltaire", "rue Nationale",
        "rue du Général Leclerc", "avenue Jean Jaurès", "rue de la Paix", "place de la Mairie",
        "rue Pasteur", "boulevard Gambetta", "rue des Écoles", "avenue de la Gare",
        "rue Victor Hugo", "rue du Moulin", "allée des Tilleuls", "rue Émile Zola",
    ),
    trades=(
        ("Quincaillerie", "Hardware"), ("Boulangerie", "Bakery"), ("Pharmacie", "Pharmacy"),
        ("Optique", "Optician"), ("Garage", "Automotive"), ("Imprimerie", "Printing"),
        ("Cave", "Wine & spirits"), ("Électricité", "Electrical supplies"),
        ("Meubles", "Furniture"), ("Plomberie", "Plumbing & heating"),
        ("Épicerie", "Food retail"), ("Brasserie", "Hospitality"), ("Bâtiment", "Construction"),
        ("Fleurs", "Florist"), ("Papeterie", "Stationery"), ("Parfumerie", "Beauty"),
    ),
    legal_forms=("SARL", "SAS", "EURL", "SA"),
    family_patterns=("Établissements {a}", "{a} & Fils", "{a} et {b}"),
    person_titles=(("Dr", "Medical practice"), ("Me", "Legal services"),
                   ("", "Architecture"), ("", "Accounting")),
    contact_roles=("Gérant", "Responsable achats", "Comptabilité", "Chef d'atelier",
                   "Directeur commercial"),
)

SPAIN = CountryData(
    code="ES",
    share=20,
    tld="es",
    street_format="{street}, {n}",
    cities=(
        City("Madrid", "Comunidad de Madrid", 40.4168, -3.7038,
             ("28001", "28004", "28010", "28013", "28020", "28045"), "91", 12),
        City("Alcalá de Henares", "Comunidad de Madrid", 40.4818, -3.3635, ("28801",), "91", 2),
        City("Getafe", "Comunidad de Madrid", 40.3057, -3.7329, ("28901",), "91", 2),
        City("Móstoles", "Comunidad de Madrid", 40.3223, -3.8649, ("28931",), "91", 1),
        City("Alcobendas", "Comunidad de Madrid", 40.5475, -3.6420, ("28100",), "91", 2),
        City("Leganés", "Comunidad de Madrid", 40.3272, -3.7635, ("28911",), "91", 1),
        City("Barcelona", "Cataluña", 41.3851, 2.1734, ("08001", "08007", "08013", "08021"),
             "93", 6),
        City("Valencia", "Comunidad Valenciana", 39.4699, -0.3763, ("46001", "46002", "46010"),
             "96", 3),
        City("Sevilla", "Andalucía", 37.3891, -5.9845, ("41001", "41004"), "95", 2),
        City("Málaga", "Andalucía", 36.7213, -4.4214, ("29001", "29005"), "95", 2),
        City("Bilbao", "País Vasco", 43.2630, -2.9350, ("48001", "48008"), "94", 2),
        City("Zaragoza", "Aragón", 41.6488, -0.8891, ("50001", "50004"), "976", 2),
        City("Valladolid", "Castilla y León", 41.6523, -4.7245, ("47001",), "983", 1),
        City("Toledo", "Castilla-La Mancha", 39.8628, -4.0273, ("45001",), "925", 1),
    ),
    surnames=(
        "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
        "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
        "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
        "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
    ),
    first_names=(
        "Javier", "Lucía", "Carlos", "María", "Pablo", "Laura", "Alejandro", "Carmen", "Daniel",
        "Marta", "Sergio", "Elena", "Jorge", "Paula", "Manuel", "Ana", "Diego", "Cristina",
        "Raúl", "Sara",
    ),
    streets=(
        "Calle Mayor", "Avenida de América", "Calle de Alcalá", "Paseo de la Castellana",
        "Calle Real", "Avenida de la Constitución", "Calle San Juan", "Plaza de España",
        "Calle del Sol", "Avenida de Andalucía", "Calle de la Iglesia", "Gran Vía",
        "Calle de Toledo", "Avenida del Mediterráneo", "Calle Nueva", "Paseo del Prado",
    ),
    trades=(
        ("Ferretería", "Hardware"), ("Panadería", "Bakery"), ("Farmacia", "Pharmacy"),
        ("Óptica", "Optician"), ("Talleres", "Automotive"), ("Imprenta", "Printing"),
        ("Bodegas", "Wine & spirits"), ("Electricidad", "Electrical supplies"),
        ("Muebles", "Furniture"), ("Fontanería", "Plumbing & heating"),
        ("Alimentación", "Food retail"), ("Restaurante", "Hospitality"),
        ("Construcciones", "Construction"), ("Floristería", "Florist"),
        ("Papelería", "Stationery"), ("Perfumería", "Beauty"),
    ),
    legal_forms=("S.L.", "S.A.", "S.L.U.", "S.Coop."),
    family_patterns=("{a} e Hijos", "Hermanos {a}", "{a} y {b}"),
    person_titles=(("Dr.", "Medical practice"), ("", "Legal services"),
                   ("", "Architecture"), ("", "Accounting")),
    contact_roles=("Gerente", "Responsable de compras", "Administración", "Encargado de tienda",
                   "Director comercial"),
)

GERMANY = CountryData(
    code="DE",
    share=20,
    tld="de",
    street_format="{street} {n}",
    cities=(
        City("München", "Bayern", 48.1351, 11.5820,
             ("80331", "80335", "80469", "80799", "81369", "81675"), "89", 10),
        City("Nürnberg", "Bayern", 49.4521, 11.0767, ("90402", "90403", "90429"), "911", 4),
        City("Augsburg", "Bayern", 48.3705, 10.8978, ("86150", "86152"), "821", 3),
        City("Regensburg", "Bayern", 49.0134, 12.1016, ("93047",), "941", 2),
        City("Ingolstadt", "Bayern", 48.7665, 11.4258, ("85049",), "841", 2),
        City("Würzburg", "Bayern", 49.7913, 9.9534, ("97070",), "931", 1),
        City("Rosenheim", "Bayern", 47.8571, 12.1181, ("83022",), "8031", 1),
        City("Berlin", "Berlin", 52.5200, 13.4050, ("10115", "10117", "10178", "10243", "10435"),
             "30", 5),
        City("Hamburg", "Hamburg", 53.5511, 9.9937, ("20095", "20097", "22765"), "40", 3),
        City("Köln", "Nordrhein-Westfalen", 50.9375, 6.9603, ("50667", "50672"), "221", 2),
        City("Düsseldorf", "Nordrhein-Westfalen", 51.2277, 6.7735, ("40210", "40213"), "211", 2),
        City("Frankfurt am Main", "Hessen", 50.1109, 8.6821, ("60311", "60313", "60486"), "69", 2),
        City("Stuttgart", "Baden-Württemberg", 48.7758, 9.1829, ("70173", "70176"), "711", 2),
        City("Leipzig", "Sachsen", 51.3397, 12.3731, ("04109",), "341", 1),
    ),
    surnames=(
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
        "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
        "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
    ),
    first_names=(
        "Thomas", "Anna", "Michael", "Julia", "Stefan", "Laura", "Andreas", "Katharina", "Markus",
        "Sarah", "Tobias", "Lisa", "Florian", "Sabine", "Christian", "Lena", "Matthias",
        "Claudia", "Jan", "Petra",
    ),
    streets=(
        "Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Goethestraße", "Gartenstraße",
        "Lindenstraße", "Kirchstraße", "Marktplatz", "Bergstraße", "Schulstraße",
        "Ludwigstraße", "Leopoldstraße", "Industriestraße", "Am Anger", "Mühlweg",
        "Friedrichstraße",
    ),
    trades=(
        ("Eisenwaren", "Hardware"), ("Bäckerei", "Bakery"), ("Stadt-Apotheke", "Pharmacy"),
        ("Optik", "Optician"), ("Autohaus", "Automotive"), ("Druckerei", "Printing"),
        ("Weinhandlung", "Wine & spirits"), ("Elektro", "Electrical supplies"),
        ("Möbelhaus", "Furniture"), ("Sanitärtechnik", "Plumbing & heating"),
        ("Feinkost", "Food retail"), ("Gasthof", "Hospitality"),
        ("Bauunternehmung", "Construction"),
        ("Blumen", "Florist"), ("Schreibwaren", "Stationery"), ("Parfümerie", "Beauty"),
    ),
    legal_forms=("GmbH", "GmbH & Co. KG", "e.K.", "AG"),
    family_patterns=("{a} & Söhne", "Gebrüder {a}", "{a} & {b}"),
    person_titles=(("Dr.", "Medical practice"), ("Dipl.-Ing.", "Engineering"),
                   ("", "Legal services"), ("", "Accounting")),
    contact_roles=("Geschäftsführer", "Einkauf", "Buchhaltung", "Filialleitung", "Vertrieb"),
)

COUNTRIES: tuple[CountryData, ...] = (ITALY, FRANCE, SPAIN, GERMANY)

# Territories: simple convex-ish rings around the real regions ([lon, lat], closed at build).
TERRITORY_RINGS: dict[str, tuple[tuple[float, float], ...]] = {
    "Lombardia": ((8.55, 45.25), (8.95, 44.95), (10.05, 44.95), (10.65, 45.15),
                  (10.6, 46.05), (9.9, 46.5), (9.0, 46.4), (8.6, 45.9)),
    "Île-de-France": ((1.5, 48.85), (1.95, 48.35), (2.6, 48.15), (3.35, 48.4),
                      (3.5, 49.0), (2.6, 49.22), (1.75, 49.15)),
    "Comunidad de Madrid": ((-4.4, 40.3), (-3.9, 40.05), (-3.3, 40.05), (-3.1, 40.45),
                            (-3.45, 41.05), (-4.1, 40.85)),
    "Bayern": ((10.05, 47.45), (12.95, 47.6), (13.8, 48.65), (12.3, 50.25), (10.1, 50.4),
               (9.5, 49.85)),
}
TURIN_POSTAL_CODES: tuple[str, ...] = tuple(str(code) for code in range(10121, 10157))

STATUSES = ("lead", "prospect", "customer", "inactive")
STATUS_WEIGHTS = (20, 25, 45, 10)
CADENCES: dict[str, tuple[tuple[int | None, ...], tuple[int, ...]]] = {
    # status -> (visit_every_days choices, weights); None means no cadence
    "customer": ((14, 30, 60), (2, 5, 3)),
    "prospect": ((30, 60, 90), (3, 4, 3)),
    "lead": ((None, 90), (3, 1)),
    "inactive": ((None,), (1,)),
}
INTERACTIONS_PER_STATUS = {  # status -> (fewest, most) past interactions
    "customer": (2, 6), "prospect": (1, 4), "lead": (0, 2), "inactive": (0, 1),
}

TAGS = (
    "newsletter", "trade-fair-2026", "price-sensitive", "new-opening", "seasonal", "franchise",
    "eco-line", "delivery-issues", "upsell", "catalogue-sent",
)

VISIT_OUTCOMES = (
    ("Order placed", "Restocked the usual range and added two new items.", "Deliver next week"),
    ("Quote requested", "Interested in the spring line; wants prices for 200 units.", "Send quote"),
    ("No decision", "Owner busy; left the catalogue with the shop assistant.", "Call back"),
    ("Complaint handled", "Late delivery last month; agreed a discount on the next order.",
     "Check delivery dates"),
    ("Demo done", "Showed the new display stand; positive feedback.", "Propose a trial"),
    ("Order placed", "Large seasonal order, payment at 60 days.", None),
)
CALL_OUTCOMES = (
    ("Appointment set", "Agreed a visit for next week."),
    ("No answer", "Left a voicemail."),
    ("Order by phone", "Reordered the best sellers."),
    ("Price check", "Asked for the updated price list; sent by email."),
)
NOTES = (
    "Deliveries only before 10:00; the street is closed to traffic later.",
    "Owner prefers WhatsApp to email.",
    "Shop under renovation until next month.",
    "Competitor visited last week with aggressive prices.",
    "Parking available in the courtyard behind the shop.",
)
TASK_TITLES = {
    "follow_up": ("Send the quote", "Follow up on the trial", "Confirm the delivery date"),
    "call": ("Call about the new price list", "Call the owner back"),
    "visit": ("Bring the new catalogue", "Install the display stand"),
    "reminder": ("Check the outstanding invoice", "Renew the annual agreement"),
}
# fmt: on
