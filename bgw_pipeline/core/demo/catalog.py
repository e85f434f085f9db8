"""The data pools behind the demo database: shops, titles, texts and rules (Russian).

Kept apart from the generator so that `demo/rows.py` reads as logic; some entries are
awkward on purpose (quotes, commas, emoji, formula-like starts) to exercise every export.
"""

from __future__ import annotations

from datetime import UTC, datetime

SECOND = 1_000_000  # timestamps are integer microseconds since the epoch

STORES = {"Hobby Games": "hobbygames.ru", "Мосигра": "mosigra.ru", "Игровед": "igroved.ru",
          "GaGa": "gaga.ru", "Лавка игр": "lavkaigr.ru", "CrowdGames": "crowdgames.ru"}  # fmt: skip
STORE_NAMES = tuple(STORES)
NAMES = (  # (Russian title, original title, BGG id)
    ("Каркассон", "Carcassonne", 822), ("Колонизаторы", "Catan", 13),
    ("Билет на поезд", "Ticket to Ride", 9209), ("Кодовые имена", "Codenames", 178900),
    ("Пандемия", "Pandemic", 30549), ("Агрикола", "Agricola", 31260), ("Серп", "Scythe", 169786),
    ("Крылья", "Wingspan", 266192), ("Покорение Марса", "Terraforming Mars", 167791),
    ("Сумеречная борьба", "Twilight Struggle", 12333), ("Диксит", "Dixit", 39856),
    ("Цитадели", "Citadels", 478), ("Манчкин", "Munchkin", 1927),
    ("Мрачная гавань", "Gloomhaven", 174430), ("Брасс. Бирмингем", "Brass: Birmingham", 224517),
    ("Азул", "Azul", 230802), ("Роскошь", "Splendor", 148228), ("7 чудес", "7 Wonders", 68448),
    ("Корни", "Root", 237182), ("Остров духов", "Spirit Island", 162886),
    ("Древний ужас", "Eldritch Horror", 146021), ("Взрывные котята", "Exploding Kittens", 172225),
    ("Бэнг!", "Bang!", 3955), ("Джайпур", "Jaipur", 54043), ("Эверделл", "Everdell", 199792),
    ("Дюна: Империя", "Dune: Imperium", 316554), ("Эволюция", "", None),
    ("Имаджинариум", "", None), ("Экивоки", "", None), ("Свинтус", "", None),
)  # fmt: skip
EDITIONS = ("", ": Большая коробка", ". Дополнение", ": Юбилейное издание", ". Дуэль",
            " (2-е издание)", ": Дорожная версия", ": Коллекционное издание")  # fmt: skip
TRICKY = (  # (title, store), first: quotes, commas, emoji, formula starts, \n, \ and \t
    ("Громкое дело", "Hobby Games"), ('Громкое "дело": Улики', "Мосигра"),
    ("Эволюция. Континенты, Время летать, Случайные мутации", "Игровед"),
    ("Подземелья и драконы 🐉: Стартовый набор", "GaGa"), ("=Мафия", "Лавка игр"),
    ("+1 к удаче", "CrowdGames"), ("-1 жизнь", "Hobby Games"),
    ("@Кодовые имена: Картинки", "Мосигра"), ("Билет на поезд:\nЕвропа", "Игровед"),
    ("Кошки\\Мышки;\tнастольная версия", "GaGa"),
)  # fmt: skip
SEED_GAME = {  # the API document's example game, index 0
    "description": "Экономическая стратегия про ограбление поезда", "players_min": 2,
    "players_max": 5, "playing_time": "45-60", "age": "12+", "publisher": "Hobby Games",
    "year": 2023, "category": "Экономическая стратегия", "bgg_id": 12345,
    "synonyms": '["Поезд","Ограбление поезда"]', "in_watchlist": True,
    "created_at": int(datetime(2024, 1, 1, 12, tzinfo=UTC).timestamp()) * SECOND,
    "updated_at": int(datetime(2024, 1, 15, 14, 30, tzinfo=UTC).timestamp()) * SECOND,
}  # fmt: skip
SEED_PRICES = ((datetime(2023, 12, 20, 15, 45, tzinfo=UTC), 4490),
               (datetime(2024, 1, 10, 9, 30, tzinfo=UTC), 3990),
               (datetime(2024, 1, 15, 12, tzinfo=UTC), 2990))  # fmt: skip
CATEGORIES = ("Экономическая стратегия", "Семейная", "Карточная", "Кооперативная", "Пати",
              "Детская", "Варгейм", "Абстрактная")  # fmt: skip
PUBLISHERS = ("Hobby Games", "Мосигра", "Crowd Games", "Лавка игр", "GaGa Games", "Эврикус", None)
FORMULA_TEXTS = ('=HYPERLINK("http://example.com";"Скидка")', "+7 (495) 123-45-67, звоните!",
                 "-15% для членов клуба", "@hobbygames_ru: следите за новинками")  # fmt: skip
EVENT_TEXTS = ("Отличная скидка на популярную игру", "Успейте купить, пока есть в наличии! 🎲",
               "Новый тираж.\nНе более 2 шт. в одни руки", 'Цена "как в прошлом году"',
               *FORMULA_TEXTS)  # fmt: skip
KINDS = ("sale", "price_drop", "restock", "release", "preorder", "announcement")
KIND_WEIGHTS = (35, 20, 15, 10, 12, 8)
EVENT_TITLES = {"sale": "{} -{}%!", "price_drop": "Цена снижена: {}", "release": "Новинка: {}",
                "restock": "Снова в наличии: {}", "preorder": "Предзаказ: {}",
                "announcement": "Анонс: {}"}  # fmt: skip
RULES_SPEC = (  # (name, logic, [(field, op, value), ...]); the first is the API's example
    ("Большие скидки", "AND", [("discount_pct", ">=", 20), ("price", "<=", 5000)]),
    ("Дешевле тысячи", "AND", [("price", "<=", 1000)]),
    ("Мой список желаний", "AND", [("in_watchlist", "==", True), ("discount_pct", ">=", 10)]),
    ("Скидки в Hobby Games", "AND", [("store", "==", "Hobby Games"), ("discount_pct", ">", 15)]),
    ("Кооперативки", "OR", [("category", "==", "Кооперативная"), ("players_min", "==", 1)]),
    ("Новинки", "AND", [("year", ">=", 2024)]),
    ("Для большой компании", "AND", [("players_max", ">=", 6), ("price", "<", 3000)]),
    ("Полцены", "OR", [("discount_pct", ">=", 50), ("price", "<=", 500)]),
)  # fmt: skip
CHANNELS = (["webpush", "telegram"], ["telegram"], ["webpush"], ["email", "telegram"])
