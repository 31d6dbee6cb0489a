"""Labeled people data set with realistic duplicates, for the identity matching benchmark.

`generate(people, seed)` returns a list of `Record`s. Every record carries the truth label
(`person_id`) and, for analysis only, how it was made: `duplicate_of` (the record it was
derived from, empty for a person's first record), `corruptions` (the kinds applied to make it),
`household_id` (people living together) and `namesake_of` (a person whose full name this one
was given on purpose). Matchers must only look at the contact fields.

What is in it:

- people from the US, GB, IN and DE with names from mixed origins (Anglo, Hispanic, Indian,
  East Asian, German, ...), skewed so that common names repeat, emails at common providers
  derived from their names, phones (E.164 underneath) written in varied local formats,
  addresses whose city, state and postcode agree with the country, and a date of birth for
  about 70%;
- hard negatives: households (same last name, address and home phone, different first names
  and birth dates) and namesakes (same first and last name, everything else different, some
  in the same city);
- about 35% of people with 1-3 extra records, each with corruptions drawn independently:
  see `CORRUPTIONS`. A duplicate always keeps at least one of email, phone, address or date
  of birth recognisably (a record that keeps only a name cannot be told from a namesake).

Deterministic for a given (people, seed): only `random.Random(seed)` is used.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from pathlib import Path

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "date_of_birth",
)

CORRUPTIONS = (
    "name_typo",  # insert / delete / substitute / transpose in first or last name
    "nickname",  # bob for robert, liz for elizabeth, ...
    "name_swap",  # first and last name swapped
    "missing_email",
    "missing_phone",
    "missing_address",
    "missing_dob",
    "email_changed",  # another provider, or a work address
    "email_variant",  # gmail plus tag / dots, or letter case
    "phone_format",  # same number, written differently
    "moved",  # new address, postcode and city in the same country
    "dob_transposed",  # day and month swapped
    "accents",  # accents removed (or added)
    "noise",  # whitespace and letter case
)

# fmt: off
_FIRST_NAMES = """
James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel
Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy
Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott
Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron
Henry Peter Douglas Nathan Zachary Walter Harold Kyle Carl Arthur Gerald Roger Keith Jeremy
Lawrence Terry Sean Albert Joe Christian Austin Willie Jesse Ethan Billy Bruce Bryan Ralph
Roy Jordan Eugene Wayne Louis Dylan Alan Juan Noah Russell Harry Randy Philip Vincent Gabriel
Bobby Johnny Howard Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen
Lisa Nancy Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy
Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna
Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet
Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina
Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara
Madison Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn
Danielle Beverly Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori
Oliver Amelia Harriet Alfie Freddie Imogen Poppy Rosie Florence Archie Hugo Rupert Nigel
Siobhan Niamh Ciaran Declan Aoife Eilidh Rhys Gareth Bethan Cerys
José María Juan Luis Carlos Jorge Alejandro Javier Miguel Fernando Ricardo Eduardo Andrés
Sofía Lucía Valentina Camila Ximena Guadalupe Rocío Inés Mónica Raúl Julián Sebastián Héctor
Ramón Joaquín Nicolás Tomás Adrián Martín Álvaro Iván Óscar Ángel Beatriz Carmen Dolores
Esperanza Pilar Consuelo Rosario Alejandra Gabriela Daniela Paola Fernanda Renata Mariana
Aarav Vivaan Aditya Vihaan Arjun Sai Reyansh Krishna Ishaan Rohan Rahul Amit Sanjay Vikram
Rajesh Suresh Ramesh Anil Sunil Deepak Manoj Arun Vijay Karthik Pradeep Srinivas Venkatesh
Priya Ananya Diya Aadhya Saanvi Isha Kavya Pooja Neha Sneha Divya Lakshmi Meera Anjali Sunita
Kiran Deepa Shreya Nandini Swati Rekha Geeta Aishwarya Harpreet Gurpreet Manpreet
Wei Jing Li Min Hui Xin Yan Lei Jun Hao Yu Ming Tao Chen Fang Ying Mei Lan Hong Jie
Hiroshi Takashi Kenji Yuki Haruto Sota Ren Yui Sakura Aoi Hina Yuna Emi Kaori Naoko Akira
Minjun Seojun Jiho Jiwoo Seoyeon Jimin Hyun Soo Young Eun Ji
Thi Anh Linh Minh Duc Huong Trang Tuan
Lukas Leon Finn Jonas Felix Maximilian Paul Elias Luca Moritz Jan Tim Niklas Tobias Sebastian
Stefan Jürgen Uwe Klaus Dieter Wolfgang Günter Horst Sabine Petra Ursula Monika Birgit Anja
Katrin Jana Lea Lena Hanna Mia Emilia Lina Marie Sophie Lotte Greta Jürgen Björn Søren Zoë
Chloé Renée Noël François Hélène Amélie Céline
"""

_LAST_NAMES = """
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson
Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott
Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans
Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell
Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray James Hughes Price Sanders
Myers Long Ross Foster Powell Jenkins Perry Russell Sullivan Fisher Henderson Coleman Simmons
Patterson Jordan Reynolds Hamilton Graham Wallace Cole West Stone Hayes Bryant Ellis
Murray Ford Marshall Owens McDonald Harrison Kennedy Wells Alexander Grant Mason Hunt Hicks
Palmer Black Robertson Knight Matthews Lloyd Holmes Fletcher Webb Barnes Chapman Dixon
Hunter Mills Shaw Lawrence Spencer Gibson Fox Walsh O'Brien O'Connor Byrne Doyle Quinn Davies
Llewellyn Pritchard Cunningham MacLeod Fraser Burns
García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera
Gómez Díaz Cruz Morales Reyes Gutiérrez Ortiz Ramos Ruiz Chávez Vázquez Castillo Jiménez
Moreno Romero Herrera Medina Aguilar Vargas Castro Guzmán Fernández Méndez Muñoz Rojas Núñez
Mendoza Salazar Delgado Peña Ríos Álvarez Cabrera Soto Navarro Domínguez Vega Campos Ibáñez
Sharma Verma Gupta Singh Kumar Patel Shah Mehta Joshi Desai Iyer Reddy Rao Nair Menon Pillai
Das Bose Banerjee Chatterjee Mukherjee Ghosh Sen Dutta Agarwal Bansal Malhotra Kapoor Khanna
Chopra Bhatia Sethi Saxena Mishra Pandey Tiwari Dubey Yadav Chauhan Rathore Thakur Naidu
Krishnan Subramanian Venkataraman Raghavan Chandrasekhar Srinivasan Gill Sandhu Dhillon
Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng Liang
Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei
Su Lu Ding Ren Shen Yao Jin Tan Lam Wong Chan Cheung Ng Ho Kwok Leung
Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada
Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Mori
Kim Park Choi Jung Kang Cho Yoon Jang Lim Han Shin Oh Seo Kwon Hwang
Nguyen Tran Le Pham Hoang Phan Vu Vo Dang Bui Do Ngo Duong Ly
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter
Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller
Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig
Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich
Dubois Lefèvre Moreau Laurent Girard Rousseau Bonnet Dupont
"""
# fmt: on

FIRST_NAMES: tuple[str, ...] = tuple(dict.fromkeys(_FIRST_NAMES.split()))
LAST_NAMES: tuple[str, ...] = tuple(dict.fromkeys(_LAST_NAMES.split()))

NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie", "Eliza"),
    "Richard": ("Rick", "Dick", "Rich", "Richie"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"),
    "Timothy": ("Tim",),
    "Edward": ("Ed", "Eddie", "Ted", "Ned"),
    "Jeffrey": ("Jeff",),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon",),
    "Benjamin": ("Ben", "Benny"),
    "Samuel": ("Sam", "Sammy"),
    "Gregory": ("Greg",),
    "Alexander": ("Alex", "Sasha"),
    "Patrick": ("Pat", "Paddy"),
    "Raymond": ("Ray",),
    "Zachary": ("Zach",),
    "Lawrence": ("Larry",),
    "Douglas": ("Doug",),
    "Gerald": ("Gerry", "Jerry"),
    "Frederick": ("Fred",),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Kathryn": ("Kate", "Kathy"),
    "Catherine": ("Cathy", "Cat", "Kate"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Jennifer": ("Jen", "Jenny"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Rebecca": ("Becky", "Becca"),
    "Deborah": ("Debbie", "Deb"),
    "Samantha": ("Sam",),
    "Christine": ("Chris", "Chrissy"),
    "Victoria": ("Vicky", "Tori"),
    "Susan": ("Sue", "Susie"),
    "Jessica": ("Jess",),
    "Abigail": ("Abby",),
    "Pamela": ("Pam",),
    "Kimberly": ("Kim",),
    "Alejandro": ("Alex",),
    "José": ("Pepe",),
    "Francisco": ("Paco",),
    "Guadalupe": ("Lupe",),
    "Dolores": ("Lola",),
    "Maximilian": ("Max",),
    "Wolfgang": ("Wolf",),
    "Venkatesh": ("Venky",),
    "Srinivas": ("Srini",),
    "Rajesh": ("Raj",),
    "Aishwarya": ("Ash",),
}

_FIRST_NAMES_SET = set(FIRST_NAMES)
NICKNAMES = {k: v for k, v in NICKNAMES.items() if k in _FIRST_NAMES_SET}

_ACCENTED = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü", "n": "ñ"}


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postcode_prefix: str  # US ZIP first 3, GB outward code, IN PIN first 3, DE PLZ first 2
    area_code: str  # landline area code (national, without trunk prefix)


PLACES: dict[str, tuple[Place, ...]] = {
    "US": (
        Place("New York", "NY", "100", "212"),
        Place("Brooklyn", "NY", "112", "718"),
        Place("Los Angeles", "CA", "900", "213"),
        Place("San Francisco", "CA", "941", "415"),
        Place("San Diego", "CA", "921", "619"),
        Place("San Jose", "CA", "951", "408"),
        Place("Chicago", "IL", "606", "312"),
        Place("Houston", "TX", "770", "713"),
        Place("Dallas", "TX", "752", "214"),
        Place("Austin", "TX", "787", "512"),
        Place("Phoenix", "AZ", "850", "602"),
        Place("Philadelphia", "PA", "191", "215"),
        Place("Seattle", "WA", "981", "206"),
        Place("Boston", "MA", "021", "617"),
        Place("Miami", "FL", "331", "305"),
        Place("Atlanta", "GA", "303", "404"),
        Place("Denver", "CO", "802", "303"),
        Place("Portland", "OR", "972", "503"),
        Place("Minneapolis", "MN", "554", "612"),
        Place("Detroit", "MI", "482", "313"),
        Place("Columbus", "OH", "432", "614"),
        Place("Charlotte", "NC", "282", "704"),
        Place("Nashville", "TN", "372", "615"),
        Place("Edison", "NJ", "088", "732"),
        Place("Fremont", "CA", "945", "510"),
    ),
    "GB": (
        Place("London", "Greater London", "SW1A", "20"),
        Place("London", "Greater London", "E14", "20"),
        Place("London", "Greater London", "N1", "20"),
        Place("Manchester", "Greater Manchester", "M1", "161"),
        Place("Birmingham", "West Midlands", "B15", "121"),
        Place("Leeds", "West Yorkshire", "LS1", "113"),
        Place("Glasgow", "Scotland", "G2", "141"),
        Place("Edinburgh", "Scotland", "EH1", "131"),
        Place("Bristol", "Bristol", "BS1", "117"),
        Place("Liverpool", "Merseyside", "L1", "151"),
        Place("Cardiff", "Wales", "CF10", "29"),
        Place("Leicester", "Leicestershire", "LE1", "116"),
        Place("Oxford", "Oxfordshire", "OX1", "1865"),
        Place("Cambridge", "Cambridgeshire", "CB2", "1223"),
        Place("Belfast", "Northern Ireland", "BT1", "28"),
    ),
    "IN": (
        Place("Mumbai", "Maharashtra", "400", "22"),
        Place("Pune", "Maharashtra", "411", "20"),
        Place("New Delhi", "Delhi", "110", "11"),
        Place("Bengaluru", "Karnataka", "560", "80"),
        Place("Chennai", "Tamil Nadu", "600", "44"),
        Place("Hyderabad", "Telangana", "500", "40"),
        Place("Kolkata", "West Bengal", "700", "33"),
        Place("Ahmedabad", "Gujarat", "380", "79"),
        Place("Jaipur", "Rajasthan", "302", "141"),
        Place("Kochi", "Kerala", "682", "484"),
        Place("Lucknow", "Uttar Pradesh", "226", "522"),
        Place("Chandigarh", "Chandigarh", "160", "172"),
    ),
    "DE": (
        Place("Berlin", "Berlin", "10", "30"),
        Place("Hamburg", "Hamburg", "20", "40"),
        Place("München", "Bayern", "80", "89"),
        Place("Köln", "Nordrhein-Westfalen", "50", "221"),
        Place("Frankfurt am Main", "Hessen", "60", "69"),
        Place("Stuttgart", "Baden-Württemberg", "70", "711"),
        Place("Düsseldorf", "Nordrhein-Westfalen", "40", "211"),
        Place("Leipzig", "Sachsen", "04", "341"),
        Place("Dresden", "Sachsen", "01", "351"),
        Place("Hannover", "Niedersachsen", "30", "511"),
        Place("Nürnberg", "Bayern", "90", "911"),
        Place("Bremen", "Bremen", "28", "421"),
    ),
}
COUNTRY_WEIGHTS = {"US": 0.45, "GB": 0.2, "IN": 0.2, "DE": 0.15}
CALLING_CODES = {"US": "1", "GB": "44", "IN": "91", "DE": "49"}

STREETS = {
    "US": (
        "Main",
        "Oak",
        "Maple",
        "Cedar",
        "Pine",
        "Elm",
        "Washington",
        "Lake",
        "Hill",
        "Park",
        "Sunset",
        "Lincoln",
        "Jefferson",
        "Highland",
        "Church",
        "Willow",
        "Madison",
        "Walnut",
        "Spruce",
        "Chestnut",
        "Ridge",
        "Meadow",
        "River",
        "Forest",
    ),
    "GB": (
        "High",
        "Station",
        "Church",
        "Victoria",
        "Mill",
        "Green",
        "Manor",
        "Queens",
        "Kings",
        "Park",
        "Windsor",
        "Albert",
        "York",
        "Grange",
        "Chapel",
        "Springfield",
        "London",
        "Orchard",
    ),
    "IN": (
        "MG",
        "Nehru",
        "Gandhi",
        "Station",
        "Temple",
        "Lake",
        "Park",
        "Residency",
        "Brigade",
        "Church",
        "Link",
        "Ring",
        "Hill",
        "Market",
        "Cross",
    ),
    "DE": (
        "Haupt",
        "Schul",
        "Garten",
        "Bahnhof",
        "Dorf",
        "Berg",
        "Kirch",
        "Wald",
        "Ring",
        "Linden",
        "Birken",
        "Goethe",
        "Schiller",
        "Mozart",
        "Friedrich",
        "Wiesen",
        "Sonnen",
        "Rosen",
    ),
}
US_SUFFIXES: tuple[tuple[str, str], ...] = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"))
US_SUFFIXES += (
    ("Drive", "Dr"),
    ("Lane", "Ln"),
    ("Boulevard", "Blvd"),
    ("Court", "Ct"),
    ("Place", "Pl"),
)
GB_SUFFIXES = ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Gardens", "Crescent")
IN_SUFFIXES = ("Road", "Nagar", "Colony", "Layout", "Marg", "Street")
DE_SUFFIXES = ("straße", "weg", "allee", "platz", "gasse", "ring")

PROVIDERS = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"),
    "GB": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com"),
    "IN": ("gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com", "hotmail.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de", "yahoo.de"),
}
PROVIDER_WEIGHTS = (0.45, 0.2, 0.15, 0.1, 0.06, 0.04)
WORK_DOMAINS = (
    "acme.com",
    "globex.com",
    "initech.com",
    "umbrella-corp.com",
    "contoso.com",
    "northwind.co.uk",
    "infosys.com",
    "tcs.com",
    "siemens.de",
    "sap.com",
    "bosch.de",
    "wipro.com",
)


@dataclass(frozen=True)
class Record:
    record_id: str
    person_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    address1: str
    address2: str
    city: str
    state: str
    postcode: str
    country: str
    date_of_birth: str  # ISO date or ""
    duplicate_of: str = ""
    corruptions: str = ""  # "|"-separated kinds from CORRUPTIONS
    household_id: str = ""
    namesake_of: str = ""

    def kinds(self) -> set[str]:
        return set(self.corruptions.split("|")) - {""}


@dataclass
class _Person:
    person_id: str
    first_name: str
    last_name: str
    email: str
    phone_e164: str
    address1: str
    address2: str
    place: Place
    postcode: str
    country: str
    dob: date | None
    household_id: str = ""
    namesake_of: str = ""


def _inbox(address: str) -> str:
    """The mailbox an address delivers to (Gmail: dots and case do not matter)."""
    local, _, domain = address.lower().partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        return f"{local.replace('.', '')}@gmail.com"
    return f"{local}@{domain}"


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    return out.replace("ß", "ss").replace("ø", "o").replace("Ø", "O")


def _ascii_slug(text: str) -> str:
    return "".join(c for c in strip_accents(text).lower() if c.isalnum())


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        # Zipf-like weights: a few names are common, most are rare.
        self.first_weights = [1.0 / (i + 8) ** 0.9 for i in range(len(FIRST_NAMES))]
        self.last_weights = [1.0 / (i + 5) ** 0.9 for i in range(len(LAST_NAMES))]

    # ------------------------------------------------------------------ base values

    def first_name(self) -> str:
        return self.rng.choices(FIRST_NAMES, self.first_weights)[0]

    def last_name(self) -> str:
        return self.rng.choices(LAST_NAMES, self.last_weights)[0]

    def country(self) -> str:
        return self.rng.choices(list(COUNTRY_WEIGHTS), list(COUNTRY_WEIGHTS.values()))[0]

    def place(self, country: str) -> Place:
        return self.rng.choice(PLACES[country])

    def postcode(self, country: str, place: Place) -> str:
        r = self.rng
        if country == "US":
            return f"{place.postcode_prefix}{r.randint(0, 99):02d}"
        if country == "GB":
            letters = "ABDEFGHJLNPQRSTUWXYZ"
            return (
                f"{place.postcode_prefix} {r.randint(1, 9)}{r.choice(letters)}{r.choice(letters)}"
            )
        if country == "IN":
            return f"{place.postcode_prefix}{r.randint(1, 99):03d}"
        return f"{place.postcode_prefix}{r.randint(100, 999):03d}"

    def address(self, country: str) -> tuple[str, str]:
        r = self.rng
        street = r.choice(STREETS[country])
        number = r.randint(1, 250 if country != "US" else 9999)
        if country == "US":
            line = f"{number} {street} {r.choice(US_SUFFIXES)[0]}"
            extra = r.choice(("", "", "", f"Apt {r.randint(1, 40)}", f"Unit {r.randint(1, 12)}"))
        elif country == "GB":
            line = f"{number} {street} {r.choice(GB_SUFFIXES)}"
            extra = r.choice(("", "", "", f"Flat {r.randint(1, 30)}"))
        elif country == "IN":
            line = f"{number} {street} {r.choice(IN_SUFFIXES)}"
            extra = r.choice(("", f"Flat {r.randint(1, 20)}{r.choice('ABCD')}", "Near Post Office"))
        else:
            line = f"{street}{r.choice(DE_SUFFIXES)} {number}"
            extra = r.choice(("", "", "", f"{r.randint(1, 5)}. OG"))
        return line, extra

    def phone_e164(self, country: str, place: Place, *, landline: bool) -> str:
        r = self.rng
        while True:
            if country == "US":
                area = place.area_code if landline or r.random() < 0.7 else r.choice(["646", "917"])
                number = f"+1{area}{r.randint(200, 999)}{r.randint(0, 9999):04d}"
            elif country == "GB":
                if landline:
                    rest = 10 - len(place.area_code)
                    number = f"+44{place.area_code}{r.randint(10 ** (rest - 1), 10**rest - 1)}"
                else:
                    number = f"+447{r.choice('4579')}{r.randint(0, 99_999_999):08d}"
            elif country == "IN":
                if landline:
                    rest = 10 - len(place.area_code)
                    number = (
                        f"+91{place.area_code}2{r.randint(0, 10 ** (rest - 1) - 1):0{rest - 1}d}"
                    )
                else:
                    number = f"+91{r.choice('6789')}{r.randint(0, 999_999_999):09d}"
            elif landline:
                number = f"+49{place.area_code}{r.randint(1_000_000, 9_999_999)}"
            else:
                number = (
                    f"+491{r.choice(['51', '52', '60', '70', '76'])}{r.randint(0, 99_999_999):08d}"
                )
            if number not in self.phones:
                self.phones.add(number)
                return number

    def format_phone(self, e164: str, country: str, *, avoid: str = "") -> str:
        """The number as a person might type it; never `avoid` when another form exists."""
        cc = CALLING_CODES[country]
        nat = e164[1 + len(cc) :]
        options: list[str]
        if country == "US":
            a, b, c = nat[:3], nat[3:6], nat[6:]
            options = [
                f"({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"+1 {a} {b} {c}",
                f"1-{a}-{b}-{c}",
                f"{a}{b}{c}",
                e164,
            ]
        elif country == "GB":
            if nat.startswith("7"):
                a, b = nat[:4], nat[4:]
            else:
                split = 1 + len(nat) - 8 if len(nat) > 8 else 2
                a, b = nat[:split], nat[split:]
            options = [f"0{a} {b}", f"+44 {a} {b}", f"+44 (0){a} {b}", f"0{a}{b}", e164]
        elif country == "IN":
            a, b = nat[:5], nat[5:]
            options = [f"{a} {b}", f"+91 {a} {b}", f"0{a}{b}", f"+91-{a}{b}", f"{a}{b}", e164]
        else:
            split = 3 if nat.startswith("1") else len(nat) - 7
            a, b = nat[:split], nat[split:]
            options = [f"0{a} {b}", f"0{a}/{b}", f"+49 {a} {b}", f"0{a}-{b}", f"0049{a}{b}", e164]
        choices = [o for o in options if o != avoid] or options
        return self.rng.choice(choices)

    def email(self, first: str, last: str, country: str) -> str:
        r = self.rng
        f, la = _ascii_slug(first) or "x", _ascii_slug(last) or "y"
        for attempt in range(50):
            local = r.choice(
                (
                    f"{f}.{la}",
                    f"{f}{la}",
                    f"{f[0]}{la}",
                    f"{f}_{la}",
                    f"{f}.{la}{r.randint(1, 99)}",
                    f"{la}.{f}",
                    f"{f}{r.randint(60, 99)}",
                    f"{f}{la[0]}",
                )
            )
            if attempt > 3:
                local += str(r.randint(1, 9999))
            domain = r.choices(PROVIDERS[country], PROVIDER_WEIGHTS[: len(PROVIDERS[country])])[0]
            address = f"{local}@{domain}"
            # one inbox, one person: Gmail ignores dots, so "a.b@" and "ab@" are one address
            inbox = _inbox(address)
            if inbox not in self.emails:
                self.emails.add(inbox)
                return address
        raise RuntimeError("no free email address")  # pragma: no cover

    def work_email(self, p: _Person) -> str:
        """An employer's address: initial and last name, numbered when a colleague has it."""
        domain = self.rng.choice(WORK_DOMAINS)
        local = f"{_ascii_slug(p.first_name)[:1]}{_ascii_slug(p.last_name)}"
        address, n = f"{local}@{domain}", 1
        while _inbox(address) in self.emails:
            n += 1
            address = f"{local}{n}@{domain}"
        self.emails.add(_inbox(address))
        return address

    def dob(self) -> date | None:
        if self.rng.random() >= 0.7:
            return None
        return date(1940, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 66))

    # ------------------------------------------------------------------ people

    def person(self, person_id: str) -> _Person:
        country = self.country()
        place = self.place(country)
        first, last = self.first_name(), self.last_name()
        address1, address2 = self.address(country)
        return _Person(
            person_id=person_id,
            first_name=first,
            last_name=last,
            email=self.email(first, last, country) if self.rng.random() < 0.85 else "",
            phone_e164=self.phone_e164(country, place, landline=self.rng.random() < 0.2)
            if self.rng.random() < 0.78
            else "",
            address1=address1,
            address2=address2,
            place=place,
            postcode=self.postcode(country, place),
            country=country,
            dob=self.dob(),
        )

    def household(
        self, head: _Person, person_id: str, household_id: str, taken: set[str]
    ) -> _Person:
        """Someone living with `head`: same last name, address and home phone, and a first
        name nobody in the household (`taken`, the head's included) has yet."""
        first = self.first_name()
        while first in taken:
            first = self.first_name()
        taken.add(first)
        member = self.person(person_id)
        member.first_name, member.last_name = first, head.last_name
        member.country, member.place, member.postcode = head.country, head.place, head.postcode
        member.address1, member.address2 = head.address1, head.address2
        if head.phone_e164 and self.rng.random() < 0.8:
            member.phone_e164 = head.phone_e164
        member.email = (
            self.email(first, head.last_name, head.country) if self.rng.random() < 0.8 else ""
        )
        member.household_id = household_id
        head.household_id = household_id
        return member

    def namesake(self, other: _Person, person_id: str) -> _Person:
        """Someone else with `other`'s full name; sometimes in the same city."""
        p = self.person(person_id)
        p.first_name, p.last_name = other.first_name, other.last_name
        if self.rng.random() < 0.4:
            p.country, p.place = other.country, other.place
            p.postcode = self.postcode(p.country, p.place)
            p.address1, p.address2 = self.address(p.country)
            p.phone_e164 = (
                self.phone_e164(p.country, p.place, landline=False) if p.phone_e164 else ""
            )
        if p.email:
            self.emails.discard(_inbox(p.email))
            p.email = self.email(p.first_name, p.last_name, p.country)
        p.namesake_of = other.person_id
        return p

    def base_record(self, p: _Person) -> dict[str, str]:
        return {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": p.email,
            "phone": self.format_phone(p.phone_e164, p.country) if p.phone_e164 else "",
            "address1": p.address1,
            "address2": p.address2,
            "city": p.place.city,
            "state": p.place.state,
            "postcode": p.postcode,
            "country": p.country,
            "date_of_birth": p.dob.isoformat() if p.dob else "",
        }

    # ------------------------------------------------------------------ corruptions

    def typo(self, word: str) -> str:
        r = self.rng
        if len(word) < 3:
            return word + r.choice("aeiou")
        i = r.randint(1, len(word) - 2)
        kind = r.choice(("insert", "delete", "substitute", "transpose"))
        letters = "abcdefghijklmnopqrstuvwxyz"
        if kind == "insert":
            return word[:i] + r.choice(letters) + word[i:]
        if kind == "delete":
            return word[:i] + word[i + 1 :]
        if kind == "substitute":
            return word[:i] + r.choice(letters.replace(word[i].lower(), "")) + word[i + 1 :]
        if word[i] == word[i + 1]:
            return word[:i] + word[i + 1 :]
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    def email_variant(self, email: str) -> str:
        local, _, domain = email.partition("@")
        if domain == "gmail.com":
            choice = self.rng.choice(("plus", "dots", "case", "googlemail"))
            if choice == "plus":
                tag = self.rng.choice(("shop", "news", "promo", "orders", "spam"))
                return f"{local}+{tag}@{domain}"
            if choice == "dots":
                bare = local.replace(".", "")
                if len(bare) > 3:
                    cut = self.rng.randint(1, len(bare) - 1)
                    return f"{bare[:cut]}.{bare[cut:]}@{domain}"
                return f"{bare}@{domain}"
            if choice == "googlemail":
                return f"{local}@googlemail.com"
        return f"{local.capitalize()}@{domain.upper() if self.rng.random() < 0.3 else domain}"

    def add_accent(self, word: str) -> str:
        spots = [i for i, c in enumerate(word) if c in _ACCENTED]
        if not spots:
            return word
        i = self.rng.choice(spots)
        return word[:i] + _ACCENTED[word[i]] + word[i + 1 :]

    def noise(self, value: str) -> str:
        r = self.rng.random()
        if r < 0.3:
            return value.upper()
        if r < 0.55:
            return value.lower()
        if r < 0.8:
            return f"  {value} "
        return value.replace(" ", "  ")

    def duplicate(  # noqa: PLR0912 - one branch per corruption kind
        self, p: _Person, base: dict[str, str]
    ) -> tuple[dict[str, str], list[str]]:
        r = self.rng
        rec = dict(base)
        kinds: list[str] = []
        # Probabilities per kind. The identifying ones are capped below.
        if p.first_name in NICKNAMES and r.random() < 0.45:
            kinds.append("nickname")
            rec["first_name"] = r.choice(NICKNAMES[p.first_name])
        if r.random() < 0.25:
            kinds.append("name_typo")
            key = "first_name" if r.random() < 0.5 else "last_name"
            rec[key] = self.typo(rec[key])
        if r.random() < 0.05:
            kinds.append("name_swap")
            rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]
        accented = any(strip_accents(v) != v for v in (rec["first_name"], rec["last_name"]))
        if r.random() < (0.6 if accented else 0.05):
            kinds.append("accents")
            for key in ("first_name", "last_name"):
                rec[key] = strip_accents(rec[key]) if accented else self.add_accent(rec[key])
        if rec["email"] and r.random() < 0.2:
            kinds.append("email_variant")
            rec["email"] = self.email_variant(rec["email"])
        if r.random() < 0.15:
            kinds.append("email_changed")
            if r.random() < 0.4:
                rec["email"] = self.work_email(p)
            else:
                rec["email"] = self.email(p.first_name, p.last_name, p.country)
        if r.random() < 0.15:
            kinds.append("moved")
            place = self.place(p.country)
            rec["address1"], rec["address2"] = self.address(p.country)
            rec["city"], rec["state"] = place.city, place.state
            rec["postcode"] = self.postcode(p.country, place)
        if rec["phone"] and r.random() < 0.5:
            kinds.append("phone_format")
            rec["phone"] = self.format_phone(p.phone_e164, p.country, avoid=rec["phone"])
        dob = p.dob
        if dob and dob.day <= 12 and dob.day != dob.month and r.random() < 0.15:
            kinds.append("dob_transposed")
            rec["date_of_birth"] = date(dob.year, dob.day, dob.month).isoformat()
        for key, kind, prob in (
            ("email", "missing_email", 0.2),
            ("phone", "missing_phone", 0.2),
            ("address1", "missing_address", 0.15),
            ("date_of_birth", "missing_dob", 0.15),
        ):
            if rec[key] and r.random() < prob:
                kinds.append(kind)
                rec[key] = ""
                if key == "address1":
                    for other in ("address2", "city", "state", "postcode"):
                        rec[other] = ""
        if r.random() < 0.2:
            kinds.append("noise")
            for key in r.sample(("first_name", "last_name", "email", "address1", "city"), 2):
                if rec[key]:
                    rec[key] = self.noise(rec[key])
        if not kinds:
            kinds.append("noise")
            rec["first_name"] = self.noise(rec["first_name"])
        return rec, kinds

    def keeps_evidence(self, base: dict[str, str], rec: dict[str, str]) -> bool:
        """Whether the duplicate keeps an email, phone, address or birth date of the person."""
        same_email = bool(rec["email"]) and rec["email"].strip().lower().replace(
            "googlemail", "gmail"
        ).split("+")[0].replace(".", "") == base["email"].lower().split("+")[0].replace(".", "")
        variant = bool(rec["email"]) and _ascii_slug(rec["email"].split("@")[0].split("+")[0]) == (
            _ascii_slug(base["email"].split("@")[0])
        )
        same_address = bool(rec["address1"]) and rec["postcode"] == base["postcode"]
        same_dob = bool(rec["date_of_birth"]) and rec["date_of_birth"] == base["date_of_birth"]
        return bool(rec["phone"]) or same_email or variant or same_address or same_dob


def generate(people: int = 10_000, seed: int = 0) -> list[Record]:  # noqa: PLR0912
    """Records for `people` distinct people, some of them duplicated, in shuffled order."""
    g = _Generator(seed)
    r = g.rng
    persons: list[_Person] = []
    next_household = 0
    while len(persons) < people:
        pid = f"p{len(persons):06d}"
        roll = r.random()
        if roll < 0.07 and persons:  # a household of 2-4
            head = persons[-1] if not persons[-1].household_id else g.person(pid)
            if head is not persons[-1]:
                persons.append(head)
            hid = f"h{next_household:05d}"
            next_household += 1
            taken = {head.first_name}
            for _ in range(r.randint(1, 3)):
                if len(persons) >= people:
                    break
                persons.append(g.household(head, f"p{len(persons):06d}", hid, taken))
        elif roll < 0.12 and persons:  # a namesake of someone already made
            persons.append(g.namesake(r.choice(persons), pid))
        else:
            persons.append(g.person(pid))

    rows: list[tuple[dict[str, str], _Person, str, list[str]]] = []
    for p in persons:
        base = g.base_record(p)
        rows.append((base, p, "", []))
        if r.random() < 0.35:
            for copy in range(r.choices((1, 2, 3), (0.65, 0.25, 0.10))[0]):
                for _attempt in range(10):
                    rec, kinds = g.duplicate(p, base)
                    if g.keeps_evidence(base, rec):
                        break
                rows.append((rec, p, f"#{p.person_id}:{copy}", kinds))
    order = list(range(len(rows)))
    r.shuffle(order)
    ids = {}
    for new_index, old_index in enumerate(order):
        ids[old_index] = f"r{new_index:07d}"
    base_ids = {rows[i][1].person_id: ids[i] for i in range(len(rows)) if not rows[i][2]}
    records: list[Record] = []
    for old_index in order:
        rec, p, dup, kinds = rows[old_index]
        records.append(
            Record(
                record_id=ids[old_index],
                person_id=p.person_id,
                duplicate_of=base_ids[p.person_id] if dup else "",
                corruptions="|".join(kinds),
                household_id=p.household_id,
                namesake_of=p.namesake_of,
                **rec,
            )
        )
    return records


def true_pair_count(records: Iterable[Record]) -> int:
    sizes: dict[str, int] = {}
    for rec in records:
        sizes[rec.person_id] = sizes.get(rec.person_id, 0) + 1
    return sum(n * (n - 1) // 2 for n in sizes.values())


def write_csv(records: Sequence[Record], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(Record)]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=names)
        writer.writeheader()
        for rec in records:
            writer.writerow(asdict(rec))


def read_csv(path: Path) -> list[Record]:
    with path.open(newline="", encoding="utf-8") as src:
        return [Record(**row) for row in csv.DictReader(src)]


__all__ = [
    "CORRUPTIONS",
    "FIELDS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "NICKNAMES",
    "Record",
    "generate",
    "read_csv",
    "strip_accents",
    "true_pair_count",
    "write_csv",
]
