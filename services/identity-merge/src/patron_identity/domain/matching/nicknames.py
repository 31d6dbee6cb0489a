"""Common English given-name nicknames, grouped under the formal name they shorten."""

from __future__ import annotations

from collections.abc import Mapping

# formal name -> nicknames; a nickname may shorten several formal names (al, chris, sam)
_NICKNAMES: Mapping[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "albert": ("al", "bert", "bertie"),
    "alexander": ("alex", "alec", "sandy", "xander", "lex"),
    "alexandra": ("alex", "alexa", "sandra", "sandy", "lexi"),
    "alfred": ("al", "alf", "alfie", "fred", "freddie"),
    "alan": ("al",),
    "allison": ("ally", "allie"),
    "amanda": ("mandy", "manda"),
    "andrew": ("andy", "drew"),
    "angela": ("angie",),
    "ann": ("annie",),
    "anna": ("annie",),
    "anne": ("annie",),
    "anthony": ("tony", "ant"),
    "arthur": ("art", "artie"),
    "barbara": ("barb", "barbie", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "bernard": ("bernie",),
    "beverly": ("bev",),
    "bradley": ("brad",),
    "calvin": ("cal",),
    "cameron": ("cam",),
    "carolyn": ("carol", "carrie"),
    "caroline": ("carol", "carrie", "caro"),
    "catherine": ("cathy", "cat", "kate", "katie"),
    "charles": ("charlie", "chuck", "chas", "chaz"),
    "charlotte": ("charlie", "lottie"),
    "christina": ("chris", "tina", "chrissy"),
    "christine": ("chris", "chrissy"),
    "christopher": ("chris", "kit", "topher"),
    "cynthia": ("cindy",),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey"),
    "deborah": ("deb", "debbie", "debby"),
    "dennis": ("denny",),
    "donald": ("don", "donnie"),
    "dorothy": ("dot", "dottie", "dolly"),
    "douglas": ("doug",),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "betsy", "eliza", "libby", "lisa"),
    "eleanor": ("ellie", "nell", "nora"),
    "emily": ("em", "emmy"),
    "eugene": ("gene",),
    "frances": ("fran", "frankie"),
    "francis": ("frank", "fran"),
    "frederick": ("fred", "freddie", "fritz"),
    "gabriel": ("gabe",),
    "gerald": ("gerry", "jerry"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry", "hal"),
    "isabella": ("bella", "izzy", "isabel"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie"),
    "janet": ("jan",),
    "jeffrey": ("jeff",),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny", "nathan"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "judith": ("judy",),
    "katherine": ("kate", "kathy", "katie", "kat", "kay", "kitty"),
    "kathleen": ("kathy", "kate", "katie"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry",),
    "leonard": ("leo", "len", "lenny"),
    "louis": ("lou",),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "greta", "daisy"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mikey", "mick", "mickey"),
    "nathaniel": ("nate", "nat", "nathan"),
    "nicholas": ("nick", "nicky"),
    "pamela": ("pam",),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil",),
    "phillip": ("phil",),
    "raymond": ("ray",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "sandra": ("sandy",),
    "stephanie": ("steph",),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "susan": ("sue", "susie", "suzy"),
    "theodore": ("ted", "teddy", "theo"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori"),
    "vincent": ("vince", "vinny"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "zachary": ("zach", "zack"),
}


def _forms_by_name() -> dict[str, frozenset[str]]:
    forms: dict[str, set[str]] = {}
    for formal, nicknames in _NICKNAMES.items():
        forms.setdefault(formal, set()).add(formal)
        for nickname in nicknames:
            forms.setdefault(nickname, set()).add(formal)
    return {name: frozenset(formals) for name, formals in forms.items()}


_FORMS = _forms_by_name()


def formal_forms(name: str) -> frozenset[str]:
    """The formal names a normalized given name may stand for; the name itself when unknown."""
    return _FORMS.get(name, frozenset({name}))


def are_nicknames(left: str, right: str) -> bool:
    """Whether two normalized given names may name the same person via a nickname."""
    return not formal_forms(left).isdisjoint(formal_forms(right))


def is_known_given_name(name: str) -> bool:
    """Whether a normalized name is a given name (or nickname) this table knows."""
    return name in _FORMS
