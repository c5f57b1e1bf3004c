"""Fixed vocabularies the demo persona's life is drawn from.

Everything here is invented. Domains use the reserved ``.example`` TLD so no generated address can
belong to anyone; names are common enough to look real and mixed enough (many scripts' Latin
transliterations, diacritics) to exercise RFC 2047 headers and entity resolution.
"""

from __future__ import annotations

from typing import TypedDict


# The shapes of the mixed-value tables below, so their readers get each field's own type.
class Persona(TypedDict):
    first: str
    last: str
    personal_email: str
    birthday: tuple[int, int, int]
    phone: str
    city: str
    tz: str
    slack_handle: str


class Org(TypedDict):
    name: str
    short: str
    domain: str
    persona_email: str
    persona_title: str
    salary_payer: str
    salary: float
    project: str
    email_style: str  # "first.last" or "first"


class Newsletter(TypedDict):
    name: str
    sender: str
    list_id: str
    unsubscribe: str
    period_days: int


class Landlord(TypedDict):
    name: str
    rent: float
    day: int


class Anomaly(TypedDict):
    name: str
    memo: str
    amount: float


# (formal first name, nickname or None). Nicknames give the "Robert Smith" / "Bob Smith" variants.
FIRST_NAMES: tuple[tuple[str, str | None], ...] = (
    ("Robert", "Bob"),
    ("Katharina", "Kathi"),
    ("Alexander", "Alex"),
    ("Elizabeth", "Liz"),
    ("Johannes", "Hannes"),
    ("Margarete", "Grete"),
    ("William", "Will"),
    ("Daniel", "Dani"),
    ("Thomas", "Tom"),
    ("Christopher", "Chris"),
    ("Michael", "Mike"),
    ("Nikolaus", "Niko"),
    ("Francesca", "Fran"),
    ("Aleksandra", "Ola"),
    ("Jekaterina", "Katja"),
    ("Maximilian", "Max"),
    ("Susanne", "Susi"),
    ("Benjamin", "Ben"),
    ("Samuel", "Sam"),
    ("Jennifer", "Jen"),
    ("Rebecca", "Becky"),
    ("Matthias", "Matze"),
    ("Friedrich", "Fritz"),
    ("Isabella", "Bella"),
    ("Victoria", "Vicky"),
    ("Dorothea", "Thea"),
    ("Giuseppe", "Beppe"),
    ("Francisco", "Paco"),
    ("José", "Pepe"),
    ("Joaquín", "Quino"),
    ("Ágnes", "Ági"),
    ("Łukasz", "Łukas"),
    ("Priya", None),
    ("Kenji", None),
    ("Amara", None),
    ("Mehmet", None),
    ("Ayşe", None),
    ("Olumide", "Olu"),
    ("Chiara", None),
    ("Lucía", None),
    ("Mateo", None),
    ("Yuki", None),
    ("Wei", None),
    ("Mei", None),
    ("Fatima", None),
    ("Omar", None),
    ("Leila", None),
    ("Nadia", None),
    ("Ivan", "Vanya"),
    ("Olga", None),
    ("Sven", None),
    ("Ingrid", None),
    ("Lars", None),
    ("Freya", None),
    ("Emeka", None),
    ("Chidi", None),
    ("Tariq", None),
    ("Hana", None),
    ("Min-jun", None),
    ("Aroha", None),
    ("Siobhán", None),
    ("Ciarán", None),
    ("Niamh", None),
    ("Rhys", None),
    ("Élodie", None),
    ("Théo", None),
    ("Chloé", None),
    ("François", None),
    ("Björn", None),
    ("Åsa", None),
    ("Jürgen", None),
    ("Günther", None),
    ("Zoë", None),
    ("Søren", None),
    ("Paula", None),
    ("Jonas", None),
    ("Miriam", "Miri"),
    ("David", "Dave"),
    ("Sarah", None),
    ("Lukas", None),
    ("Emma", None),
    ("Noah", None),
    ("Mia", None),
    ("Elias", None),
    ("Clara", None),
    ("Felix", None),
    ("Jana", None),
    ("Tobias", "Tobi"),
    ("Sophie", None),
    ("Moritz", None),
    ("Lea", None),
    ("Julian", "Jules"),
    ("Marta", None),
    ("Pedro", None),
    ("Rafael", "Rafa"),
    ("Ines", None),
    ("Tomasz", "Tomek"),
    ("Agnieszka", "Aga"),
    ("Dmitri", "Dima"),
    ("Anastasia", "Nastya"),
    ("Kofi", None),
    ("Abena", None),
    ("Ravi", None),
    ("Ananya", None),
    ("Hiroshi", None),
    ("Sakura", None),
    ("Jia", None),
    ("Hyun-woo", None),
)

LAST_NAMES: tuple[str, ...] = (
    "Müller",
    "Schmidt",
    "Nowak",
    "Kowalczyk",
    "Wiśniewski",
    "Yılmaz",
    "Öztürk",
    "García",
    "Fernández",
    "López",
    "Rossi",
    "Bianchi",
    "Esposito",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Andersson",
    "Østergaard",
    "Nyström",
    "Virtanen",
    "Mäkinen",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Tanaka",
    "Suzuki",
    "Kim",
    "Park",
    "Nguyen",
    "Tran",
    "Chen",
    "Wang",
    "Patel",
    "Sharma",
    "Iyer",
    "Khan",
    "Haddad",
    "Nasser",
    "Cohen",
    "Levi",
    "O'Brien",
    "MacLeod",
    "Jones",
    "Walker",
    "Novák",
    "Dvořák",
    "Horváth",
    "Kovač",
    "Popescu",
    "Ionescu",
    "Petrov",
    "Silva",
    "Santos",
    "Costa",
    "Pereira",
    "Fischer",
    "Weber",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Richter",
    "Krüger",
    "de Vries",
    "Jansen",
    "Bakker",
    "Lindberg",
    "Halvorsen",
    "Eriksen",
    "Papadopoulos",
    "Demir",
    "Kaya",
    "Sato",
    "Watanabe",
    "Zhang",
    "Liu",
    "Gupta",
    "Reddy",
    "Hussain",
    "Rahman",
    "Ali",
    "Mendes",
    "Oliveira",
    "Romano",
    "Greco",
    "Ferrari",
    "Laurent",
    "Girard",
    "Vogel",
    "Brenner",
    "Lang",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Hartmann",
    "Wagner",
    "Keller",
    "Berger",
    "Frank",
    "Winter",
    "Sommer",
    "Krause",
    "Maier",
    "Huber",
    "Baumann",
    "Lorenz",
    "Roth",
    "Engel",
    "Kuhn",
)

# The mother is called "Mama" in chats and signs as such, so her first name should fit.
MOTHER_FIRST_NAMES: tuple[tuple[str, str | None], ...] = (
    ("Margarete", "Grete"),
    ("Susanne", "Susi"),
    ("Dorothea", "Thea"),
    ("Ingrid", None),
    ("Katharina", "Kathi"),
    ("Miriam", "Miri"),
    ("Åsa", None),
    ("Ágnes", "Ági"),
)

# The shared first name: two unrelated people carry it so resolution must not merge them.
SHARED_FIRST_NAME = "Anna"

PERSONA: Persona = {
    "first": "Lena",
    "last": "Brandt",
    "personal_email": "lena.brandt@fastpost.example",
    "birthday": (1991, 5, 17),
    "phone": "+49 176 5550 1842",
    "city": "Berlin",
    "tz": "Europe/Berlin",
    "slack_handle": "lena",
}

ORGS: dict[str, Org] = {
    "A": {
        "name": "Nordwind Analytics GmbH",
        "short": "Nordwind",
        "domain": "nordwind-analytics.example",
        "persona_email": "lena.brandt@nordwind-analytics.example",
        "persona_title": "Data Engineer",
        "salary_payer": "NORDWIND ANALYTICS GMBH",
        "salary": 4218.55,
        "project": "Harbor",
        "email_style": "first.last",
    },
    "B": {
        "name": "Helio Labs GmbH",
        "short": "Helio",
        "domain": "heliolabs.example",
        "persona_email": "lena@heliolabs.example",
        "persona_title": "Senior Data Engineer",
        "salary_payer": "HELIO LABS GMBH",
        "salary": 4975.20,
        "project": "Lighthouse",
        "email_style": "first",
    },
}

PERSONAL_DOMAINS = ("fastpost.example", "webpost.example", "kolibri-mail.example", "inbox.example")

WORK_TITLES = (
    "Data Engineer",
    "Software Engineer",
    "Product Manager",
    "Data Scientist",
    "Designer",
    "Engineering Manager",
    "Analyst",
    "Site Reliability Engineer",
    "QA Engineer",
    "Recruiter",
)

HOBBIES = ("climbing", "board games", "cycling", "photography", "choir", "pottery", "running", "sailing")

# Trip destinations: (city, country, IANA zone, airport code, hotel)
DESTINATIONS = (
    ("Lisbon", "Portugal", "Europe/Lisbon", "LIS", "Hotel Miradouro Alfama"),
    ("New York", "USA", "America/New_York", "JFK", "The Hudson Row Hotel"),
    ("Kraków", "Poland", "Europe/Warsaw", "KRK", "Hotel Pod Wawelem Ogród"),
    ("Copenhagen", "Denmark", "Europe/Copenhagen", "CPH", "Nyhavn Harbour Rooms"),
    ("Rome", "Italy", "Europe/Rome", "FCO", "Albergo Trastevere Verde"),
    ("Oslo", "Norway", "Europe/Oslo", "OSL", "Fjordlys Hotel"),
    ("Vienna", "Austria", "Europe/Vienna", "VIE", "Pension Naschmarkt"),
    ("Edinburgh", "United Kingdom", "Europe/London", "EDI", "Old Town Wynd Hotel"),
    ("Barcelona", "Spain", "Europe/Madrid", "BCN", "Hotel Gràcia Jardí"),
)

AIRLINE = {"name": "SkyWay Air", "sender": "bookings@skyway-air.example", "code": "SW"}
HOTEL_SITE = {"name": "StayBook", "sender": "confirmations@staybook.example"}

# Mailing lists and newsletters: published content, the LOW tier.
MAILING_LIST = {
    "name": "Berlin Data Meetup",
    "address": "data-meetup@lists.berlindata.example",
    "list_id": "Berlin Data Meetup <data-meetup.lists.berlindata.example>",
    "unsubscribe": "<mailto:data-meetup-leave@lists.berlindata.example>, "
    "<https://lists.berlindata.example/unsubscribe/data-meetup>",
    "archive": "<https://lists.berlindata.example/archive/data-meetup>",
}
NEWSLETTERS: tuple[Newsletter, ...] = (
    {
        "name": "The Weekly Byte",
        "sender": "newsletter@weeklybyte.example",
        "list_id": "The Weekly Byte <weekly.weeklybyte.example>",
        "unsubscribe": "<https://weeklybyte.example/unsubscribe?u=demo>",
        "period_days": 7,
    },
    {
        "name": "Kiez & Kultur",
        "sender": "hallo@kiezkultur.example",
        "list_id": "Kiez und Kultur Monatsbrief <monthly.kiezkultur.example>",
        "unsubscribe": "<https://kiezkultur.example/abmelden>",
        "period_days": 30,
    },
)

# Merchants, payees. Bank exports upper-case and truncate names; the CSV is latin-1.
LANDLORD: Landlord = {"name": "Hausverwaltung Kranich GmbH", "rent": 1180.00, "day": 1}
GROCERIES = (
    "REWE MARKT BERLIN",
    "EDEKA KIEZMARKT",
    "LIDL DIENSTL",
    "ALDI NORD",
    "BIO COMPANY",
    "DENNS BIOMARKT",
    "NETTO MARKEN-DISCOUNT",
)
UTILITIES = (("Stadtwerke Berlin Strom", 64.00), ("Kiez-Net Internet", 39.99), ("Mobilfunk Hallo", 19.99))
INSURANCE = ("Hanseatische Haftpflicht VVaG", 7.45)
GYM = ("Boulderhalle Nordwand", 59.00)
SUBSCRIPTIONS = (
    ("STREAMFLIX.EXAMPLE", 13.99),
    ("TUNEBOX MUSIC", 10.99),
    ("CLOUDSTASH STORAGE", 2.99),
    ("THE WEEKLY BYTE PLUS", 5.00),
)
RESTAURANTS = (
    "TRATTORIA DA LUCA",
    "PHO SAIGON KIEZ",
    "CAFE EINSTEIN",
    "BURGERAMT",
    "SUSHI YAMA",
    "MEZE HOUSE",
    "FALAFEL ORIENT",
)
SHOPS = (
    "BOOKSHOP KREUZBERG",
    "ONLINE SHOP ZALORA",
    "ELECTRO DEPOT",
    "DM DROGERIE",
    "IKEA TEMPELHOF",
    "FAHRRADLADEN SPEICHE",
)
TRANSPORT = ("BVG TICKET APP", "DB FERNVERKEHR", "TIER SCOOTER", "FREE NOW TAXI")
ANOMALY: Anomaly = {"name": "JUWELIER ALEXANDRA", "memo": "Goldschmiede Auftrag Ring", "amount": 3849.00}
