#!/usr/bin/env python3
"""Generate the Harbor & Pine demo store: its product catalogue and its order history.

Writes kb/demo/products.json and kb/demo/orders.json. Everything is composed from the
hand-written seed tables below (brands, product families, colours, materials, sizes, names,
cities) with a fixed random seed, so two runs give byte-identical files. The store's facts
(shipping costs and free-shipping thresholds, delivery times, carriers, tracking-number
formats, order-id and invoice formats, payment methods, order statuses) follow
kb/demo/POLICIES.md, which is the single source of truth.

The generated JSON files are committed; rerun this script only to regenerate them:

    python3 scripts/make_demo_store.py

Standard library only. Money is computed in integer cents. Timestamps are store time
(Europe/Amsterdam: CEST until 25 October 2026, CET after) and the order history is a
snapshot taken on Monday 2026-11-23 at 08:45 CET; orders were placed 2026-08-01..2026-11-22.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

SEED = 20261123
ROOT = Path(__file__).resolve().parents[1]
PRODUCTS_PATH = ROOT / "kb" / "demo" / "products.json"
ORDERS_PATH = ROOT / "kb" / "demo" / "orders.json"

T = TypeVar("T")
Weighted = Sequence[tuple[T, int]]
Json = dict[str, object]

# --------------------------------------------------------------------------------------
# Store time
# --------------------------------------------------------------------------------------

CEST = timezone(timedelta(hours=2))
CET = timezone(timedelta(hours=1))
DST_END_UTC = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
DST_END_LOCAL = datetime(2026, 10, 25, 3, 0)


def local(moment: datetime) -> datetime:
    """An aware datetime expressed in store time (Europe/Amsterdam, autumn 2026)."""
    return moment.astimezone(CEST if moment < DST_END_UTC else CET)


def at_local(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in the store's time zone."""
    naive = datetime(day.year, day.month, day.day, hour, minute, second)
    zone = CEST if naive < DST_END_LOCAL else CET
    return naive.replace(tzinfo=zone).astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else local(moment).isoformat(timespec="seconds")


def is_business_day(day: date) -> bool:
    # No Dutch public holiday falls between August and November 2026.
    return day.weekday() < 5


def add_business_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def dispatch_day(moment: datetime) -> date:
    """Paid before 15:00 on a business day: leaves the same day, else the next business day."""
    here = local(moment)
    if is_business_day(here.date()) and here.hour < 15:
        return here.date()
    return add_business_days(here.date(), 1)


NOW = at_local(date(2026, 11, 23), 8, 45)
FIRST_DAY = date(2026, 8, 1)
LAST_DAY = date(2026, 11, 22)

# --------------------------------------------------------------------------------------
# Catalogue seed tables
# --------------------------------------------------------------------------------------

# Hand-aligned seed tables: keep them compact for reading and editing.
# fmt: off

HOUSE = "Harbor & Pine"

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("OUT", "Outdoor & Camping"),
    ("FTW", "Footwear"),
    ("CLO", "Clothing"),
    ("BAG", "Bags & Travel"),
    ("KIT", "Kitchen"),
    ("HOM", "Home & Living"),
    ("ELE", "Electronics"),
    ("SPO", "Sports & Fitness"),
    ("BEA", "Beauty & Care"),
)

# Model words used in product names, per category code.
MODELS: dict[str, tuple[str, ...]] = {
    "OUT": ("Skarv", "Tind", "Breen", "Vidde", "Ridge", "Cairn", "Granite", "Lyngen", "Kvist",
            "Moraine", "Scree", "Juvet", "Alder", "Ember", "Halde"),
    "FTW": ("Strada", "Loam", "Trailhead", "Basalt", "Heath", "Cobble", "Drift", "Kestrel",
            "Marl", "Flint", "Sorrel", "Tundra", "Pacer", "Rove", "Talus"),
    "CLO": ("Haar", "Nimbus", "Storm", "Skye", "Wren", "Ferro", "Brae", "Arlo", "Maren",
            "Fell", "Cove", "Linde", "Sitka", "Ostra", "Hebden"),
    "BAG": ("Havn", "Transit", "Kaj", "Nomad", "Pier", "Voyager", "Quay", "Atlas", "Rover",
            "Ferry", "Compass", "Lantern", "Mooring", "Dock", "Berth"),
    "KIT": ("Forma", "Brasa", "Olio", "Hearth", "Crema", "Rustica", "Ardent", "Tallow",
            "Copper", "Pava", "Sencha", "Vidal", "Larder", "Saffra", "Mesa"),
    "HOM": ("Dune", "Linnea", "Still", "Ravn", "Fjora", "Mossa", "Lune", "Tova", "Ebba",
            "Hallon", "Sild", "Vika", "Aska", "Tilde", "Solveig"),
    "ELE": ("Pulse", "Echo", "Volt", "Arc", "Nova", "Flux", "Halo", "Orbit", "Prism",
            "Vector", "Ion", "Beacon", "Lumen", "Quartz", "Relay"),
    "SPO": ("Core", "Stride", "Tempo", "Apex", "Kinetic", "Sprint", "Balance", "Flow",
            "Anchor", "Ascent", "Surge", "Pivot", "Cadence", "Zenith", "Rally"),
    "BEA": ("Calm", "Dew", "Bloom", "Tide", "Oat", "Nectar", "Aloe", "Fennel", "Birch",
            "Cedar", "Meadow", "Kelp", "Juniper", "Linden", "Daylight"),
}

OUTDOOR_COLOURS = ("Moss Green", "Slate Grey", "Rust Orange", "Navy", "Black", "Sand",
                   "Fjord Blue", "Olive")
APPAREL_COLOURS = ("Black", "Navy", "Charcoal", "Forest Green", "Oat", "Burgundy", "Stone",
                   "Petrol Blue")
SHOE_COLOURS = ("Brown", "Dark Grey", "Olive", "Black", "Cognac", "Stone")
HOME_COLOURS = ("Oat", "Sage Green", "Terracotta", "Off-White", "Charcoal", "Dusty Blue",
                "Ochre", "Natural")
TECH_COLOURS = ("Black", "Graphite", "White", "Sand", "Deep Blue")
SPORT_COLOURS = ("Black", "Lilac", "Teal", "Coral", "Graphite", "Lime")
APPAREL_SIZES = ("XS-XXL", "S-XXL", "XS-XL")
SHOE_SIZES = ("EU 36-46", "EU 37-47", "EU 39-47", "EU 36-42")

Variant = tuple[str, dict[str, str]]
PLAIN: tuple[Variant, ...] = (("", {}),)


@dataclass(frozen=True)
class Family:
    """A product type; each family yields `count` products with different brand and model."""

    code: str
    kind: str
    count: int
    price: tuple[int, int]
    brands: tuple[str, ...]
    attrs: dict[str, tuple[str, ...]]
    text: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    variants: tuple[Variant, ...] = PLAIN


OUTDOOR: tuple[Family, ...] = (
    Family(
        "OUT", "Hiking Backpack", 3, (59, 169), ("Fjellstad", "Tarnvik", HOUSE),
        {"colour": OUTDOOR_COLOURS,
         "material": ("recycled nylon ripstop", "polyester canvas with a PU coating",
                      "high-tenacity nylon 210D")},
        (("A {capacity} hiking pack in {material} with a ventilated mesh back panel and a "
          "padded hip belt.",
          "This {colour_lc} pack holds {capacity}, is made of {material} and weighs {weight} "
          "empty."),
         ("Side pockets take a 1 L bottle, and the lid pocket keeps maps and snacks within "
          "reach.",
          "A hydration sleeve and a rain cover stored in the base pocket suit it to full-day "
          "hikes.",
          "The back length adjusts from 40 to 52 cm, so the load rests on the hips rather than "
          "the shoulders."),
         ("Wipe it clean with a damp cloth; do not machine wash it.",
          "Trekking poles can be stowed in the two loops on the front.")),
        (("22", {"capacity": "22 L", "weight": "0.74 kg"}),
         ("32", {"capacity": "32 L", "weight": "1.05 kg"}),
         ("45", {"capacity": "45 L", "weight": "1.48 kg"})),
    ),
    Family(
        "OUT", "Tent", 3, (149, 429), ("Tarnvik", "Fjellstad", "Valdren"),
        {"colour": ("Sand", "Olive", "Slate Grey", "Rust Orange"),
         "design": ("freestanding dome", "tunnel"),
         "material": ("ripstop polyester with a silicone coating",
                      "nylon 20D with a silicone coating"),
         "water_column": ("3000 mm", "4000 mm")},
        (("A {design} tent for {capacity} with a fly of {material} and aluminium poles.",
          "This {design} tent sleeps {capacity}, weighs {weight} and packs down to "
          "{packed_size}."),
         ("The fly has a {water_column} water column and two vents that reduce condensation.",
          "Two doors and two porches leave room for boots and packs outside the inner tent.",
          "The inner tent has a mesh roof, which keeps it cool on summer nights."),
         ("Fly and inner tent pitch together in about five minutes.",
          "Dry the tent fully before storing it to prevent mildew.")),
        (("1", {"capacity": "1 person", "weight": "1.35 kg", "packed_size": "40 x 14 cm"}),
         ("2", {"capacity": "2 persons", "weight": "2.1 kg", "packed_size": "45 x 16 cm"}),
         ("3", {"capacity": "3 persons", "weight": "2.9 kg", "packed_size": "50 x 18 cm"})),
    ),
    Family(
        "OUT", "Sleeping Bag", 3, (79, 299), ("Valdren", "Tarnvik", "Fjellstad"),
        {"colour": ("Navy", "Olive", "Rust Orange", "Slate Grey"),
         "fill": ("600 fill power duck down", "synthetic hollow fibre",
                  "700 fill power goose down"),
         "comfort_temperature": ("+8 °C", "+2 °C", "-4 °C"),
         "shape": ("mummy", "rectangular"),
         "weight": ("0.9 kg", "1.2 kg", "1.6 kg")},
        (("A {shape} sleeping bag filled with {fill}, with a comfort temperature of "
          "{comfort_temperature}.",
          "This {shape} sleeping bag uses {fill} and weighs {weight} including its stuff "
          "sack."),
         ("A two-way zip and a draught collar keep the warmth in on cold nights in huts and "
          "tents.",
          "It suits three-season camping; the hood closes with a one-hand drawcord.",
          "The footbox is shaped to let your feet rest naturally without compressing the fill."),
         ("Store it loose in the supplied cotton sack rather than compressed.",
          "Wash it on a gentle 30 °C cycle and tumble dry on low heat.")),
    ),
    Family(
        "OUT", "Sleeping Mat", 2, (39, 129), ("Tarnvik", "Fjellstad"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("30D nylon with TPU lamination", "recycled polyester with TPU lamination"),
         "thickness": ("5 cm", "7.5 cm"),
         "r_value": ("2.1", "3.5", "4.8"),
         "weight": ("420 g", "590 g", "780 g")},
        (("An insulated air mat of {material}, {thickness} thick, with an R-value of "
          "{r_value}.",
          "This {thickness} air mat weighs {weight} and has an R-value of {r_value}."),
         ("It inflates with the included pump sack in about two minutes and packs to the size "
          "of a 1 L bottle.",
          "Horizontal baffles keep you from rolling off on uneven ground."),
         ("A repair kit with two patches is included.",
          "Store it unrolled with the valve open to keep the foam from creasing.")),
    ),
    Family(
        "OUT", "Headlamp", 2, (19, 59), ("Quellon", "Tarnvik"),
        {"colour": ("Black", "Rust Orange", "Slate Grey"),
         "brightness": ("300 lm", "450 lm", "600 lm"),
         "battery": ("1200 mAh Li-ion", "1800 mAh Li-ion"),
         "weight": ("68 g", "84 g", "96 g"),
         "water_resistance": ("IPX4", "IPX6")},
        (("This headlamp reaches {brightness} and weighs {weight} with its elastic head strap.",
          "A headlamp with a maximum output of {brightness} and a lamp head that tilts in four "
          "steps."),
         ("The built-in {battery} battery charges over USB-C in about three hours.",
          "A red light mode protects your night vision, and a lock function stops it switching "
          "on in the pack."),
         ("It is rated {water_resistance}, so rain is not a problem.",
          "The beam switches between a wide flood for camp and a focused spot for trails.")),
    ),
    Family(
        "OUT", "Camping Stove", 2, (29, 89), ("Tarnvik", "Fjellstad"),
        {"output": ("2.6 kW", "3.0 kW"),
         "weight": ("88 g", "112 g", "310 g"),
         "material": ("aluminium and stainless steel",),
         "fuel": ("screw-on gas cartridge, EN 417",)},
        (("A compact burner for screw-on gas cartridges with an output of {output} and a "
          "weight of {weight}.",
          "This {output} gas burner is made of {material} and weighs {weight}."),
         ("It boils 1 L of water in about four minutes in still air, and the pot supports fold "
          "away for packing.",
          "A piezo igniter and a wide flame spreader make it suitable for pans up to 22 cm."),
         ("Gas cartridges are not included.",
          "It comes in a hard case that fits inside most 1 L pots.")),
    ),
    Family(
        "OUT", "Trekking Poles", 2, (39, 119), ("Fjellstad", "Valdren"),
        {"material": ("aluminium 7075", "carbon fibre"),
         "length": ("105-135 cm", "100-130 cm"),
         "weight": ("480 g per pair", "390 g per pair"),
         "grip": ("cork", "EVA foam")},
        (("A pair of telescopic trekking poles in {material} with a length range of {length}.",
          "These {material} trekking poles weigh {weight} and adjust over {length}."),
         ("The {grip} grips stay comfortable in warm weather, and flick locks let you adjust "
          "the length with gloves on.",
          "They collapse to 62 cm, short enough to carry strapped to a daypack."),
         ("Rubber tips for asphalt and snow baskets for winter are included.",)),
    ),
    Family(
        "OUT", "Insulated Bottle", 2, (19, 39), (HOUSE, "Fjellstad"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("18/8 stainless steel, double-wall vacuum insulated",),
         "insulation": ("hot for 12 h, cold for 24 h",)},
        (("A {capacity} bottle of double-wall 18/8 stainless steel that keeps drinks "
          "{insulation}.",
          "This {capacity} vacuum bottle keeps drinks {insulation} and has a wide mouth for ice "
          "cubes."),
         ("The leak-proof lid has a carry loop and a silicone seal that can be removed for "
          "cleaning.",
          "The powder-coated {colour_lc} finish gives a good grip with wet or cold hands."),
         ("Hand wash only; the coating is not dishwasher safe.",)),
        (("500", {"capacity": "0.5 L"}), ("750", {"capacity": "0.75 L"}),
         ("1000", {"capacity": "1 L"})),
    ),
    Family(
        "OUT", "Camping Chair", 1, (39, 79), ("Tarnvik",),
        {"colour": ("Olive", "Navy", "Slate Grey"),
         "material": ("600D polyester on an aluminium frame",),
         "weight": ("1.1 kg",), "max_load": ("120 kg",), "seat_height": ("32 cm",)},
        (("A folding camp chair of {material} that weighs {weight} and carries up to "
          "{max_load}.",),
         ("The shock-corded frame sets up in under a minute and packs into its own bag.",
          "The seat sits {seat_height} above the ground, which keeps it stable on soft "
          "ground."),
         ("Mesh side panels let rain drain away.",)),
    ),
)

FOOTWEAR: tuple[Family, ...] = (
    Family(
        "FTW", "Hiking Boots", 3, (129, 219), ("Marrick", "Corvado", "Valdren"),
        {"colour": ("Brown", "Dark Grey", "Olive", "Black"),
         "upper": ("nubuck leather", "suede and nylon mesh", "full-grain leather"),
         "sole": ("rubber lug sole with 5 mm lugs", "rubber sole with a heel brake"),
         "sizes": SHOE_SIZES,
         "weight": ("560 g per shoe", "620 g per shoe", "710 g per shoe")},
        (("A mid-cut hiking boot with a {upper} upper, a waterproof and breathable membrane "
          "and a {sole}.",
          "This {colour_lc} boot combines a {upper} upper with a {sole} for rocky paths."),
         ("At {weight} it is built for multi-day hikes with a loaded pack.",
          "The lacing runs down to the toe, so the fit over the forefoot can be adjusted.",
          "A rubber toe cap protects the upper from rocks and roots."),
         ("Sizes {sizes}; it fits true to size with room for a thick sock.",
          "Treat the upper with a waterproofing spray twice a season.")),
    ),
    Family(
        "FTW", "Trail Running Shoes", 3, (99, 169), ("Corvado", "Pellago", "Duravik"),
        {"colour": SPORT_COLOURS,
         "upper": ("engineered mesh", "ripstop mesh with TPU overlays"),
         "drop": ("4 mm", "6 mm", "8 mm"),
         "weight": ("270 g per shoe", "295 g per shoe", "310 g per shoe"),
         "sizes": SHOE_SIZES},
        (("A trail running shoe with an upper of {upper}, a heel-to-toe drop of {drop} and a "
          "sticky rubber outsole with 4 mm lugs.",
          "This {colour_lc} trail shoe has a drop of {drop} and an upper of {upper}."),
         ("It weighs {weight} and has a rock plate under the forefoot for stony trails.",
          "A gusseted tongue keeps grit and small stones out on loose descents.",
          "The outsole lugs are spaced wide, so mud sheds easily."),
         ("Available in sizes {sizes}; between sizes, take the larger one.",
          "Take out the insoles and let the shoes air-dry after wet runs.")),
    ),
    Family(
        "FTW", "Leather Sneakers", 3, (89, 149), ("Marrick", "Elmsted", HOUSE),
        {"colour": ("White", "Off-White", "Black", "Cognac"),
         "upper": ("full-grain leather", "suede"),
         "lining": ("leather", "recycled polyester"),
         "sole": ("stitched cupsole of natural rubber",),
         "sizes": SHOE_SIZES},
        (("A low-top sneaker with an upper of {upper}, a {lining} lining and a {sole}.",
          "This {colour_lc} sneaker is made of {upper} on a {sole}."),
         ("The removable insole is made of cork and latex and moulds to the foot over the "
          "first weeks.",
          "Because the sole is stitched rather than glued, a cobbler can resole it.",
          "A padded collar and a leather heel counter hold the heel in place."),
         ("Available in sizes {sizes}; the fit is slightly narrow.",)),
    ),
    Family(
        "FTW", "Walking Sandals", 2, (49, 89), ("Corvado", "Pellago"),
        {"colour": SHOE_COLOURS,
         "straps": ("recycled polyester webbing", "nubuck leather"),
         "footbed": ("cork and latex", "EVA foam"),
         "sizes": SHOE_SIZES},
        (("A walking sandal with straps of {straps} and a contoured {footbed} footbed.",
          "This {colour_lc} sandal has a footbed of {footbed} and straps of {straps}."),
         ("Three hook-and-loop closures adjust the fit at the toes, instep and heel.",
          "The rubber outsole grips on wet rocks and harbour quays."),
         ("Rinse with fresh water after swimming in the sea.",)),
    ),
    Family(
        "FTW", "Winter Boots", 2, (119, 189), ("Vintermo", "Marrick"),
        {"colour": ("Black", "Brown", "Dark Grey"),
         "upper": ("waterproof nubuck", "waterproof suede"),
         "lining": ("wool felt", "synthetic fleece"),
         "rated_to": ("-20 °C", "-30 °C"),
         "sizes": SHOE_SIZES},
        (("A lace-up winter boot with a {upper} upper and a removable {lining} lining, rated "
          "to {rated_to}.",),
         ("The outsole uses a rubber compound that stays grippy on snow and ice in the cold.",
          "A gusseted tongue and a high collar keep snow out when you walk through drifts."),
         ("Available in sizes {sizes}; order your usual size, as the lining leaves room for "
          "thick socks.",)),
    ),
    Family(
        "FTW", "Chelsea Boots", 2, (119, 179), ("Marrick", "Elmsted"),
        {"colour": ("Black", "Brown", "Cognac"),
         "upper": ("oiled leather", "suede"),
         "sole": ("crepe rubber sole", "stitched rubber sole"),
         "sizes": SHOE_SIZES},
        (("A Chelsea boot of {upper} with elastic side panels and a {sole}.",
          "This {colour_lc} Chelsea boot pairs an upper of {upper} with a {sole}."),
         ("Pull tabs at the front and back make it easy to put on, and the leather lining stays "
          "breathable.",
          "A cushioned leather insole keeps them comfortable through a full day on your feet."),
         ("Available in sizes {sizes}; it fits true to size.",
          "Clean it with a soft brush and a care product suited to {upper}.")),
    ),
    Family(
        "FTW", "Wool Slippers", 2, (34, 59), ("Brisaholm", "Vintermo"),
        {"colour": ("Grey Melange", "Oat", "Charcoal", "Burgundy"),
         "material": ("boiled wool", "felted merino wool"),
         "sole": ("suede sole", "non-slip rubber sole"),
         "sizes": ("EU 36-46", "EU 37-45")},
        (("A house slipper of {material} with a {sole}.",
          "These {colour_lc} slippers are made of {material} and have a {sole}."),
         ("Wool regulates temperature, so they stay comfortable on cold floors without "
          "overheating.",
          "A firm heel counter keeps their shape, so they do not flatten at the back."),
         ("Air them regularly; wool needs little washing.",
          "Available in sizes {sizes}; for half sizes, take the next size up.")),
    ),
    Family(
        "FTW", "Running Shoes", 3, (89, 159), ("Pellago", "Duravik", "Corvado"),
        {"colour": SPORT_COLOURS,
         "upper": ("knit mesh", "engineered mesh"),
         "drop": ("8 mm", "10 mm"),
         "weight": ("240 g per shoe", "265 g per shoe", "290 g per shoe"),
         "sizes": SHOE_SIZES},
        (("A road running shoe with an upper of {upper} and a foam midsole with a drop of "
          "{drop}.",
          "This {colour_lc} road shoe weighs {weight} and has a heel-to-toe drop of {drop}."),
         ("It is cushioned for daily training runs up to half-marathon distance.",
          "A reflective heel tab makes you visible in the dark.",
          "A wide toe box leaves room for the foot to spread on long runs."),
         ("Available in sizes {sizes}.",)),
    ),
)

CLOTHING: tuple[Family, ...] = (
    Family(
        "CLO", "Rain Jacket", 3, (119, 249), ("Valdren", "Vintermo", HOUSE),
        {"colour": APPAREL_COLOURS,
         "material": ("2.5-layer recycled polyester", "3-layer nylon"),
         "water_column": ("10000 mm", "20000 mm"),
         "fit": ("regular", "relaxed"),
         "weight": ("310 g", "380 g", "420 g"),
         "sizes": APPAREL_SIZES},
        (("A hooded rain jacket of {material} with a water column of {water_column} and taped "
          "seams.",
          "This {colour_lc} rain jacket in {material} weighs {weight} and packs into its own "
          "chest pocket."),
         ("Pit zips let out heat on steep climbs, and the hood adjusts in three places.",
          "The {fit} fit leaves room for a fleece underneath.",
          "A two-way front zip and a storm flap keep driving rain out."),
         ("Available in sizes {sizes}.",
          "Wash at 30 °C and tumble dry on low to renew the water-repellent finish.")),
    ),
    Family(
        "CLO", "Down Jacket", 2, (149, 279), ("Vintermo", "Valdren"),
        {"colour": APPAREL_COLOURS,
         "fill": ("650 fill power duck down", "800 fill power goose down"),
         "shell": ("recycled nylon 20D", "nylon 15D ripstop"),
         "weight": ("340 g", "410 g"),
         "sizes": APPAREL_SIZES},
        (("A quilted down jacket filled with {fill} under a shell of {shell}.",
          "This {colour_lc} jacket is filled with {fill} and weighs {weight}."),
         ("It compresses into a stuff sack the size of a water bottle.",
          "The down is traceable to certified farms."),
         ("Available in sizes {sizes}.",
          "Wash it with a down detergent and tumble dry with dryer balls.")),
    ),
    Family(
        "CLO", "Fleece Jacket", 3, (59, 99), ("Valdren", "Elmsted", HOUSE),
        {"colour": APPAREL_COLOURS,
         "material": ("recycled polyester fleece, 300 g/m²", "grid fleece, 200 g/m²"),
         "fit": ("regular", "relaxed"),
         "sizes": APPAREL_SIZES},
        (("A full-zip fleece jacket of {material} with a high collar.",
          "This {colour_lc} fleece is made of {material}."),
         ("It works as a mid layer under a shell or on its own on cool evenings.",
          "Two zipped hand pockets and a chest pocket hold a phone and keys.",
          "Elastic binding at the cuffs and hem keeps draughts out."),
         ("Wash it inside out at 30 °C to limit pilling.",
          "Available in sizes {sizes} with a {fit} fit.")),
    ),
    Family(
        "CLO", "Merino T-Shirt", 3, (49, 79), ("Valdren", "Elmsted", "Vintermo"),
        {"colour": APPAREL_COLOURS,
         "material": ("100% merino wool, 150 g/m²", "merino and Tencel blend, 160 g/m²"),
         "fit": ("regular", "slim"),
         "sizes": APPAREL_SIZES},
        (("A short-sleeved T-shirt of {material} with flat seams.",
          "This {colour_lc} T-shirt is knitted from {material}."),
         ("Merino stays fresh for several days of wear, which makes it a good travel shirt.",
          "It regulates temperature worn on its own or as a base layer.",
          "The shoulder seams are set forward, so backpack straps do not rub on them."),
         ("Wash at 30 °C on a wool cycle and dry flat.",
          "Available in sizes {sizes} with a {fit} fit.")),
    ),
    Family(
        "CLO", "Hiking Trousers", 2, (69, 119), ("Valdren", "Fjellstad"),
        {"colour": ("Black", "Olive", "Stone", "Charcoal"),
         "material": ("stretch polyamide with elastane", "organic cotton and polyester twill"),
         "fit": ("regular", "slim"),
         "sizes": ("EU 44-58", "EU 34-46")},
        (("Hiking trousers of {material} with articulated knees and a gusseted crotch.",
          "These {colour_lc} trousers are made of {material} and cut with a {fit} fit."),
         ("Five pockets, two of them zipped, hold a map and a phone.",
          "A water-repellent finish sheds light rain, and the fabric dries quickly."),
         ("Available in sizes {sizes}.",
          "The hems tighten with a drawcord over boots.")),
    ),
    Family(
        "CLO", "Wool Sweater", 3, (79, 139), ("Elmsted", HOUSE, "Vintermo"),
        {"colour": APPAREL_COLOURS,
         "material": ("lambswool", "merino wool", "organic cotton and wool"),
         "knit": ("cable knit", "rib knit", "fisherman rib"),
         "sizes": APPAREL_SIZES},
        (("A crew-neck sweater in {knit}, made of {material}.",
          "This {colour_lc} sweater is knitted from {material} in {knit}."),
         ("It is knitted in Portugal from yarn spun in Italy.",
          "The dense knit blocks wind on the coast and keeps its shape after washing.",
          "Ribbed cuffs and hem hold their shape and keep the warmth in."),
         ("Hand wash cold or use a wool cycle, and dry flat.",
          "Available in sizes {sizes}.")),
    ),
    Family(
        "CLO", "Flannel Shirt", 2, (49, 69), ("Elmsted", HOUSE),
        {"colour": APPAREL_COLOURS,
         "material": ("organic cotton flannel, 180 g/m²", "brushed cotton twill"),
         "pattern": ("check", "plain"),
         "sizes": APPAREL_SIZES},
        (("A {pattern} shirt of {material} with two chest pockets.",
          "This {colour_lc} shirt in {material} has a button-down collar."),
         ("The brushed surface is warm enough to wear as a light overshirt in autumn.",
          "It has a straight hem that can be worn tucked in or out."),
         ("Wash at 40 °C; it shrinks less than 2% after the first wash.",
          "Available in sizes {sizes}.")),
    ),
    Family(
        "CLO", "Beanie", 2, (19, 34), ("Vintermo", "Valdren"),
        {"colour": APPAREL_COLOURS,
         "material": ("merino wool rib knit", "recycled wool blend"),
         "sizes": ("one size",)},
        (("A close-fitting beanie of {material} with a turn-up cuff.",
          "This {colour_lc} beanie is knitted from {material}."),
         ("It is soft enough to wear directly on the skin and fits under a jacket hood.",
          "The turn-up cuff doubles the knit over the ears for extra warmth."),
         ("Hand wash cold.",)),
    ),
    Family(
        "CLO", "Wool Socks 2-Pack", 2, (14, 24), ("Valdren", "Vintermo"),
        {"colour": ("Charcoal", "Navy", "Forest Green", "Oat"),
         "material": ("70% merino wool, 25% polyamide, 5% elastane",
                      "55% merino wool, 43% polyamide, 2% elastane"),
         "cushioning": ("light", "medium", "heavy"),
         "sizes": ("EU 35-38, 39-42, 43-46",)},
        (("Two pairs of hiking socks knitted from {material} with {cushioning} cushioning.",
          "Two pairs of {colour_lc} socks with {cushioning} cushioning, made of {material}."),
         ("Reinforced heels and toes last longer in boots, and a flat toe seam prevents "
          "rubbing.",
          "Mesh zones on the instep let moisture escape in warm weather."),
         ("Machine wash at 40 °C.", "Available in sizes {sizes}.")),
    ),
)

BAGS: tuple[Family, ...] = (
    Family(
        "BAG", "Travel Backpack", 3, (99, 189), (HOUSE, "Rendal", "Fjellstad"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("recycled polyester 600D", "waxed cotton canvas", "nylon 840D")},
        (("A {capacity} travel backpack of {material} that opens fully like a suitcase.",
          "This {colour_lc} backpack measures {dimensions} and holds {capacity}."),
         ("A padded sleeve fits a 16-inch laptop, and the shoulder straps stow behind a zipped "
          "panel for check-in.",
          "Lockable zips and a hidden back pocket for a passport suit it to city trips.",
          "A stowable hip belt takes weight off the shoulders when the pack is full."),
         ("It weighs {weight} empty.",)),
        (("28", {"capacity": "28 L", "dimensions": "48 x 30 x 20 cm", "weight": "1.1 kg"}),
         ("35", {"capacity": "35 L", "dimensions": "52 x 32 x 22 cm", "weight": "1.3 kg"}),
         ("40", {"capacity": "40 L", "dimensions": "55 x 40 x 20 cm", "weight": "1.45 kg"})),
    ),
    Family(
        "BAG", "Cabin Suitcase", 2, (129, 229), ("Rendal", "Korvena"),
        {"colour": ("Black", "Sand", "Navy", "Sage Green"),
         "dimensions": ("55 x 40 x 20 cm",),
         "capacity": ("36 L", "39 L"),
         "weight": ("2.6 kg", "3.1 kg"),
         "material": ("polycarbonate shell", "recycled polypropylene shell"),
         "lock": ("TSA-approved combination lock",)},
        (("A cabin-size suitcase with a {material}, measuring {dimensions} and holding "
          "{capacity}.",),
         ("It rolls on four spinner wheels and has a {lock}.",
          "Inside, compression straps and a zipped divider keep clothes in place."),
         ("It weighs {weight} and meets the cabin limits of most European airlines.",)),
    ),
    Family(
        "BAG", "Check-in Suitcase", 2, (169, 269), ("Rendal", "Korvena"),
        {"colour": ("Black", "Sand", "Navy", "Terracotta"),
         "material": ("polycarbonate shell", "recycled polypropylene shell"),
         "lock": ("TSA-approved combination lock",)},
        (("A {capacity} check-in suitcase with a {material}, measuring {dimensions}.",),
         ("An expansion zip adds about 15% volume for the journey home.",
          "It rolls on four double spinner wheels and has a {lock}."),
         ("It weighs {weight} empty.",)),
        (("M", {"capacity": "75 L", "dimensions": "68 x 46 x 27 cm", "weight": "3.9 kg"}),
         ("L", {"capacity": "100 L", "dimensions": "76 x 52 x 30 cm", "weight": "4.6 kg"})),
    ),
    Family(
        "BAG", "Duffel Bag", 3, (59, 129), (HOUSE, "Fjellstad", "Rendal"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("TPU-coated polyester 840D", "waxed cotton canvas", "recycled nylon")},
        (("A {capacity} duffel bag of {material} with a wide U-shaped opening.",
          "This {colour_lc} duffel holds {capacity} and is made of {material}."),
         ("Padded straps let you carry it as a backpack, and an end pocket keeps shoes apart "
          "from clothes.",
          "Daisy chains on the lid hold a wet jacket or a sleeping mat.",
          "Haul loops at both ends make it easy to lift into the boot of a car."),
         ("It folds into its own side pocket when not in use.", "It weighs {weight} empty.")),
        (("40", {"capacity": "40 L", "weight": "0.8 kg"}),
         ("60", {"capacity": "60 L", "weight": "1.0 kg"}),
         ("90", {"capacity": "90 L", "weight": "1.3 kg"})),
    ),
    Family(
        "BAG", "Tote Bag", 2, (29, 59), (HOUSE, "Rendal"),
        {"colour": ("Natural", "Navy", "Black", "Olive"),
         "material": ("organic cotton canvas, 16 oz", "waxed canvas with leather handles"),
         "dimensions": ("42 x 38 x 14 cm", "45 x 35 x 16 cm")},
        (("A tote bag of {material}, measuring {dimensions}.",
          "This {colour_lc} tote is made of {material} and measures {dimensions}."),
         ("An inner zip pocket holds keys, and the handles are long enough to carry it on the "
          "shoulder.",
          "It holds a weekly shop or a 15-inch laptop in a sleeve."),
         ("Spot clean only.",)),
    ),
    Family(
        "BAG", "Messenger Bag", 2, (69, 119), ("Rendal", HOUSE),
        {"colour": OUTDOOR_COLOURS,
         "material": ("waxed cotton canvas", "recycled nylon 500D"),
         "capacity": ("12 L", "15 L"),
         "laptop_size": ("14 inch", "16 inch")},
        (("A {capacity} messenger bag of {material} with a magnetic buckle on the flap.",
          "This {colour_lc} messenger bag holds {capacity} and is made of {material}."),
         ("The padded compartment holds a laptop up to {laptop_size}, and a cross-body strap "
          "keeps the bag in place on a bike.",
          "The flap has a water-resistant lining, and two front pockets hold small items."),
         ("Reflective strips on the flap improve visibility at night.",)),
    ),
    Family(
        "BAG", "Laptop Backpack", 2, (79, 129), ("Rendal", "Korvena"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("recycled polyester 600D", "nylon 1680D"),
         "capacity": ("20 L", "24 L"),
         "laptop_size": ("15.6 inch", "16 inch")},
        (("A {capacity} commuter backpack of {material} with a padded compartment for laptops "
          "up to {laptop_size}.",),
         ("A luggage strap on the back slides over the handle of a suitcase.",
          "The laptop compartment opens separately at the back, which speeds up airport "
          "security."),
         ("The base is water-resistant, so the bag can stand on wet ground.",)),
    ),
    Family(
        "BAG", "Packing Cube Set", 2, (24, 39), (HOUSE, "Rendal"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("recycled nylon ripstop", "polyester with mesh tops"),
         "contents": ("3 cubes: S, M and L", "4 cubes: 2 x S, M and L")},
        (("A set of packing cubes of {material}: {contents}.",),
         ("Mesh panels show what is inside, and double zips compress the clothes.",
          "Each cube has a grab handle, so it can be lifted out of a full suitcase."),
         ("They fold flat when empty.",)),
    ),
    Family(
        "BAG", "Toiletry Bag", 2, (19, 39), (HOUSE, "Rendal"),
        {"colour": OUTDOOR_COLOURS,
         "material": ("waxed canvas", "recycled polyester with a PU coating"),
         "dimensions": ("24 x 15 x 12 cm", "26 x 12 x 10 cm")},
        (("A toiletry bag of {material}, {dimensions}, with a hanging hook.",),
         ("Inside are elastic loops for bottles and a clear pocket that meets airport liquid "
          "rules.",
          "A wide zip opening makes everything easy to reach on a small hotel shelf."),
         ("The lining can be wiped clean with a damp cloth.",)),
    ),
)

KITCHEN: tuple[Family, ...] = (
    Family(
        "KIT", "Chef Knife", 3, (49, 149), ("Kavelo", "Brenmoor", "Ilvana"),
        {"blade_length": ("20 cm", "21 cm", "24 cm"),
         "steel": ("German stainless steel X50CrMoV15", "Damascus-pattern VG10 steel"),
         "handle": ("olive wood", "black POM", "walnut"),
         "hardness": ("56 HRC", "60 HRC")},
        (("A chef knife with a {blade_length} blade of {steel}, hardened to {hardness}.",
          "This chef knife has a handle of {handle} and a {blade_length} blade of {steel}."),
         ("The handle is riveted through the full tang, and the knife balances at the bolster.",
          "It covers most kitchen tasks, from chopping onions to carving a roast.",
          "The edge is ground to 15 degrees per side, thin enough for slicing tomatoes."),
         ("Hand wash and dry it straight away; it is not dishwasher safe.",
          "Hone it regularly and sharpen it on a whetstone once or twice a year.")),
    ),
    Family(
        "KIT", "Cast Iron Skillet", 2, (39, 69), ("Brenmoor", "Kavelo"),
        {"material": ("pre-seasoned cast iron",), "hob": ("all hobs including induction",)},
        (("A {diameter} skillet of {material} with a helper handle and two pouring lips.",),
         ("It works on {hob} and in the oven, and holds heat well for searing.",
          "It can also go on a barbecue grill or over a campfire."),
         ("It weighs {weight}; dry it after washing and wipe it with a little oil.",)),
        (("24", {"diameter": "24 cm", "weight": "2.4 kg"}),
         ("28", {"diameter": "28 cm", "weight": "3.2 kg"})),
    ),
    Family(
        "KIT", "Enamelled Casserole", 2, (89, 179), ("Brenmoor", "Ilvana"),
        {"colour": HOME_COLOURS, "material": ("enamelled cast iron",),
         "hob": ("all hobs including induction",)},
        (("A round {capacity} casserole of {material} with a tight-fitting lid.",),
         ("The {colour_lc} enamel needs no seasoning, and the pot goes from the hob into the "
          "oven up to 250 °C.",
          "It is sized for stews, soups and baking bread."),
         ("It is dishwasher safe, though hand washing keeps the enamel glossy for longer.",)),
        (("24", {"diameter": "24 cm", "capacity": "3.8 L"}),
         ("28", {"diameter": "28 cm", "capacity": "6.2 L"})),
    ),
    Family(
        "KIT", "Pour-Over Coffee Dripper", 2, (19, 39), ("Kavelo", HOUSE),
        {"colour": ("White", "Matte Black", "Sand"),
         "material": ("porcelain", "borosilicate glass"),
         "cups": ("1-4 cups",), "filter": ("size 02 cone filters",)},
        (("A pour-over coffee dripper of {material} that brews {cups} at a time.",),
         ("It takes {filter}, and spiral ribs inside let the coffee flow evenly.",
          "A single hole at the bottom slows the flow, which makes the brew forgiving."),
         ("Dishwasher safe.",)),
    ),
    Family(
        "KIT", "French Press", 2, (29, 49), ("Kavelo", "Ilvana"),
        {"material": ("borosilicate glass with a stainless steel frame",
                      "double-wall stainless steel")},
        (("A {capacity} French press of {material}.",),
         ("A four-part stainless steel filter keeps grounds out of the cup.",
          "The plunger has a fine mesh that also works for loose-leaf tea."),
         ("All parts come apart and can go in the dishwasher.",)),
        (("350", {"capacity": "0.35 L"}), ("1000", {"capacity": "1 L"})),
    ),
    Family(
        "KIT", "Stovetop Kettle", 2, (39, 69), ("Brenmoor", "Ilvana"),
        {"colour": HOME_COLOURS,
         "capacity": ("1.5 L", "2 L"),
         "material": ("stainless steel 18/10", "enamelled steel"),
         "hob": ("all hobs including induction",)},
        (("A {capacity} whistling kettle of {material} for {hob}.",),
         ("The handle stays cool, and the spout flap opens with a thumb lever.",
          "The wide base heats quickly on small burners."),
         ("Descale it every few weeks in hard-water areas.",)),
    ),
    Family(
        "KIT", "Cutting Board", 2, (29, 59), (HOUSE, "Brenmoor"),
        {"material": ("end-grain oak", "walnut", "beech"),
         "dimensions": ("40 x 28 x 3 cm", "45 x 30 x 4 cm", "35 x 25 x 2 cm")},
        (("A cutting board of {material}, {dimensions}, with a juice groove on one side.",),
         ("Wood is gentle on knife edges and can be sanded back when it gets scarred.",
          "Rubber feet keep it from sliding on the worktop."),
         ("Oil it monthly with food-safe mineral oil and wash it by hand.",)),
    ),
    Family(
        "KIT", "Saucepan Set", 2, (89, 169), ("Brenmoor", "Kavelo"),
        {"pieces": ("3 pans of 16, 18 and 20 cm with lids",),
         "material": ("tri-ply stainless steel", "stainless steel with an aluminium base"),
         "hob": ("all hobs including induction",)},
        (("A set of {pieces}, made of {material}.",),
         ("Measuring marks inside and pouring rims make cooking and draining easier.",
          "Glass lids with a steam vent let you watch the pan without lifting the lid."),
         ("Suitable for {hob} and dishwasher safe.",)),
    ),
    Family(
        "KIT", "Pepper Mill", 2, (24, 49), ("Ilvana", "Kavelo"),
        {"material": ("beech wood with a ceramic grinder", "acacia wood with a ceramic grinder"),
         "height": ("20 cm", "24 cm")},
        (("A {height} pepper mill of {material}.",),
         ("The grind adjusts from fine to coarse with the knob on top, and the ceramic does not "
          "rust.",
          "A wide opening at the top makes refilling easy."),
         ("It also grinds salt and dried herbs.",)),
    ),
    Family(
        "KIT", "Teapot", 1, (29, 49), ("Ilvana",),
        {"colour": HOME_COLOURS, "capacity": ("1.2 L",),
         "material": ("stoneware with a stainless steel infuser",)},
        (("A {capacity} teapot of {material}.",),
         ("The removable infuser gives loose-leaf tea room to unfold.",),
         ("Dishwasher safe.",)),
    ),
)

HOME: tuple[Family, ...] = (
    Family(
        "HOM", "Wool Throw", 3, (59, 129), ("Brisaholm", HOUSE),
        {"colour": HOME_COLOURS,
         "material": ("100% lambswool", "merino wool", "recycled wool and cotton"),
         "dimensions": ("130 x 180 cm", "140 x 200 cm"),
         "pattern": ("herringbone", "plain", "check")},
        (("A {pattern} throw of {material}, {dimensions}, with fringed edges.",
          "This {colour_lc} throw is woven from {material} and measures {dimensions}."),
         ("It is heavy enough to use as an extra layer on a bed in winter.",
          "Wool keeps its warmth even when the air is damp.",
          "It is large enough to cover a two-seater sofa or the foot of a double bed."),
         ("Air it outdoors instead of washing it, or have it dry cleaned.",)),
    ),
    Family(
        "HOM", "Linen Cushion Cover", 2, (19, 34), ("Brisaholm", HOUSE),
        {"colour": HOME_COLOURS, "material": ("stonewashed linen",),
         "dimensions": ("45 x 45 cm", "50 x 50 cm", "40 x 60 cm"), "closure": ("hidden zip",)},
        (("A {dimensions} cushion cover of {material} with a {closure}.",
          "This {colour_lc} cushion cover in {material} measures {dimensions}."),
         ("The cushion insert is not included.",
          "Stonewashing makes the linen soft from the first use."),
         ("Machine wash at 40 °C.",)),
    ),
    Family(
        "HOM", "Table Lamp", 3, (49, 149), ("Lumora", "Brisaholm"),
        {"colour": HOME_COLOURS,
         "material": ("glazed ceramic base with a linen shade",
                      "brushed brass stem with an opal glass shade",
                      "turned oak base with a cotton shade"),
         "bulb": ("E27 bulbs up to 40 W, not included", "E14 bulbs; a 4 W LED bulb is included"),
         "dimensions": ("height 42 cm", "height 36 cm", "height 50 cm")},
        (("A table lamp with a {material}, {dimensions}.",),
         ("It takes {bulb}.",
          "A dimmer on the 1.8 m fabric cord sets the light level.",
          "The shade diffuses the light evenly, so the lamp does not glare."),
         ("It suits bedside tables and reading corners.",)),
    ),
    Family(
        "HOM", "Scented Candle", 2, (19, 34), ("Brisaholm", HOUSE),
        {"scent": ("cedar and sea salt", "fig leaf", "smoked pine", "bergamot and vetiver"),
         "wax": ("soy and rapeseed wax",),
         "burn_time": ("35 hours", "45 hours"),
         "weight": ("180 g", "220 g")},
        (("A {weight} candle of {wax} in a reusable glass, with a scent of {scent}.",),
         ("The cotton wick burns for about {burn_time}.",
          "The scent is light enough for a small room."),
         ("Trim the wick to 5 mm before each use.",)),
    ),
    Family(
        "HOM", "Bath Towel Set", 2, (39, 69), ("Brisaholm", HOUSE),
        {"colour": HOME_COLOURS,
         "material": ("organic cotton terry, 600 g/m²", "cotton waffle weave"),
         "contents": ("2 bath towels of 70 x 140 cm", "2 bath towels and 2 hand towels")},
        (("A set of {contents} in {material}.",),
         ("The long loops absorb well and dry quickly on a heated rail.",
          "The flat waffle weave is light and dries faster than terry."),
         ("Wash at 60 °C and avoid fabric softener, which reduces absorbency.",)),
    ),
    Family(
        "HOM", "Duvet Cover Set", 2, (69, 129), ("Brisaholm", HOUSE),
        {"colour": HOME_COLOURS,
         "material": ("stonewashed linen", "cotton percale, 200 thread count"),
         "sizes": ("140 x 200 cm, 200 x 200 cm, 240 x 220 cm",)},
        (("A duvet cover of {material} with matching pillowcases.",
          "This {colour_lc} bedding set of {material} includes a duvet cover and pillowcases."),
         ("It closes with buttons at the foot end, and corner ties keep the duvet in place.",
          "The fabric gets softer with every wash."),
         ("Available in sizes {sizes}.", "Wash at 40 °C and line dry.")),
    ),
    Family(
        "HOM", "Ceramic Planter", 2, (19, 49), ("Brisaholm", HOUSE),
        {"colour": HOME_COLOURS,
         "material": ("glazed stoneware with a drainage hole and saucer",
                      "matte stoneware with a drainage hole and saucer")},
        (("A {diameter} planter of {material}.",),
         ("It fits nursery pots about 2 cm smaller in diameter.",
          "The glaze is applied by hand, so each planter differs slightly in shade."),
         ("For indoor use only; the glaze is not frost resistant.",)),
        (("14", {"diameter": "14 cm"}), ("20", {"diameter": "20 cm"}),
         ("26", {"diameter": "26 cm"})),
    ),
    Family(
        "HOM", "Wall Clock", 1, (39, 59), ("Lumora",),
        {"material": ("solid oak with a glass front",), "diameter": ("30 cm",),
         "movement": ("silent sweep quartz",), "power": ("1 AA battery, not included",)},
        (("A {diameter} wall clock of {material}.",),
         ("Its {movement} movement does not tick, which suits bedrooms.",),
         ("It runs on one AA battery, which is not included.",)),
    ),
    Family(
        "HOM", "Storage Basket", 2, (24, 44), ("Brisaholm", HOUSE),
        {"colour": ("Natural", "Oat", "Charcoal"),
         "material": ("hand-woven seagrass", "cotton rope"),
         "dimensions": ("35 x 35 x 30 cm", "40 x 30 x 25 cm")},
        (("A storage basket of {material}, {dimensions}, with two handles.",),
         ("It holds blankets, toys or firewood.", "It fits standard shelving units."),
         ("Brush off dust; do not wash it.",)),
    ),
    Family(
        "HOM", "Doormat", 1, (29, 45), (HOUSE,),
        {"colour": ("Natural",), "material": ("coir with a rubber backing",),
         "dimensions": ("50 x 80 cm",)},
        (("A {dimensions} doormat of {material}.",),
         ("The stiff coir fibres scrape mud off boots, and the backing stops it sliding.",),
         ("It is suitable for covered outdoor areas.",)),
    ),
)

ELECTRONICS: tuple[Family, ...] = (
    Family(
        "ELE", "Wireless Earbuds", 3, (49, 149), ("Quellon", "Orvane", "Tidevann"),
        {"colour": TECH_COLOURS,
         "battery": ("6 h, 24 h with the case", "8 h, 30 h with the case"),
         "noise_reduction": ("active noise cancelling", "passive isolation"),
         "connectivity": ("Bluetooth 5.3", "Bluetooth 5.4"),
         "water_resistance": ("IPX4", "IPX5")},
        (("True wireless earbuds with {noise_reduction} and {connectivity}.",
          "These {colour_lc} earbuds use {connectivity} and offer {noise_reduction}."),
         ("Battery life is {battery}; the case charges over USB-C or wirelessly.",
          "Touch controls on each earbud handle playback, calls and volume.",
          "An app offers an equaliser and a function to locate lost earbuds."),
         ("They are rated {water_resistance} against sweat and rain.",
          "Three sizes of silicone ear tips are included.")),
    ),
    Family(
        "ELE", "Noise Cancelling Headphones", 2, (129, 249), ("Orvane", "Quellon"),
        {"colour": TECH_COLOURS,
         "battery": ("30 h", "40 h"), "weight": ("250 g", "268 g"),
         "connectivity": ("Bluetooth 5.3 with multipoint", "Bluetooth 5.4 with multipoint")},
        (("Over-ear headphones with active noise cancelling and {connectivity}.",),
         ("The battery lasts up to {battery}, and ten minutes of charging gives about five "
          "hours.",
          "Memory foam ear cushions and a padded headband keep them comfortable on long flights."),
         ("They weigh {weight} and fold flat into the included case.",
          "A 3.5 mm cable is included for in-flight entertainment.")),
    ),
    Family(
        "ELE", "Bluetooth Speaker", 3, (39, 129), ("Tidevann", "Quellon", "Orvane"),
        {"colour": TECH_COLOURS,
         "wattage": ("10 W", "20 W", "30 W"), "battery": ("12 h", "16 h", "20 h"),
         "water_resistance": ("IP67",)},
        (("A portable speaker with {wattage} output and up to {battery} of battery life.",
          "This {colour_lc} speaker plays for up to {battery} at {wattage}."),
         ("Rated {water_resistance}, it survives rain, sand and a dip in the pool.",
          "Two speakers of this model can be paired for stereo sound.",
          "A built-in microphone lets you take calls hands-free."),
         ("It charges over USB-C.",)),
    ),
    Family(
        "ELE", "Power Bank", 3, (29, 69), ("Quellon", "Tidevann", "Orvane"),
        {"colour": TECH_COLOURS,
         "output": ("20 W USB-C PD", "45 W USB-C PD", "65 W USB-C PD")},
        (("A {capacity} power bank with {output} output.",),
         ("It weighs {weight} and charges two devices at once through its USB-C and USB-A "
          "ports.",
          "A display shows the remaining charge in percent.",
          "Pass-through charging lets it charge itself and a phone from one plug."),
         ("It may be taken in cabin baggage on flights.",)),
        (("10", {"capacity": "10000 mAh", "weight": "190 g"}),
         ("20", {"capacity": "20000 mAh", "weight": "340 g"}),
         ("26", {"capacity": "26800 mAh", "weight": "480 g"})),
    ),
    Family(
        "ELE", "USB-C Charger", 2, (24, 49), ("Quellon", "Orvane"),
        {"colour": ("Black", "White"), "technology": ("GaN",)},
        (("A {wattage} wall charger with {ports}, built on {technology} technology.",),
         ("It is small enough for a travel bag and charges phones, tablets and USB-C laptops.",
          "It agrees the right voltage with each device over USB Power Delivery."),
         ("The EU plug folds in for travel.",)),
        (("30", {"wattage": "30 W", "ports": "1 x USB-C"}),
         ("65", {"wattage": "65 W", "ports": "2 x USB-C, 1 x USB-A"})),
    ),
    Family(
        "ELE", "Portable Solar Panel", 2, (79, 159), ("Tidevann", "Quellon"),
        {"ports": ("2 x USB-A, 1 x USB-C",)},
        (("A foldable {wattage} solar panel with {ports} outputs.",),
         ("It weighs {weight}, folds to {folded_size} and hangs from a pack by its corner "
          "loops.",
          "A built-in controller restarts charging automatically when a cloud has passed."),
         ("Output drops in cloud and shade; expect about 60% of the rated power in practice.",)),
        (("21", {"wattage": "21 W", "weight": "560 g", "folded_size": "28 x 16 x 3 cm"}),
         ("40", {"wattage": "40 W", "weight": "1.2 kg", "folded_size": "36 x 27 x 4 cm"})),
    ),
    Family(
        "ELE", "LED Desk Lamp", 2, (39, 79), ("Lumora", "Orvane"),
        {"colour": ("Black", "White", "Sand"), "wattage": ("10 W", "12 W"),
         "colour_temperature": ("2700-6500 K",)},
        (("An LED desk lamp with a {wattage} light panel and a colour temperature of "
          "{colour_temperature}.",),
         ("Touch controls dim it in five steps, and the arm tilts and turns.",
          "It switches on at the last brightness and colour setting used."),
         ("A USB-C port in the base charges a phone.",)),
    ),
    Family(
        "ELE", "Action Camera", 1, (149, 219), ("Orvane",),
        {"resolution": ("4K at 60 fps",), "waterproof": ("to 10 m without a housing",),
         "battery": ("1500 mAh, removable",), "weight": ("128 g",)},
        (("An action camera that records {resolution} with electronic image stabilisation.",),
         ("It is waterproof {waterproof} and weighs {weight}.",),
         ("The removable battery lasts about 90 minutes of recording.",)),
    ),
    Family(
        "ELE", "Smart Plug", 2, (14, 29), ("Quellon", "Orvane"),
        {"colour": ("White",), "max_load": ("3680 W, 16 A",),
         "connectivity": ("Wi-Fi 2.4 GHz",), "plug_type": ("type E/F",)},
        (("A smart plug with {connectivity} that switches loads up to {max_load}.",),
         ("It measures energy use and runs schedules from the app; no hub is needed.",
          "It works with the common voice assistants and keeps its schedule without internet."),
         ("Plug {plug_type}, for sockets in the Netherlands, Belgium, Germany and most of the "
          "EU.",)),
    ),
)

SPORTS: tuple[Family, ...] = (
    Family(
        "SPO", "Yoga Mat", 3, (29, 89), ("Duravik", "Kestova", "Pellago"),
        {"colour": SPORT_COLOURS,
         "material": ("natural rubber with a PU top layer", "TPE", "cork on natural rubber"),
         "thickness": ("4 mm", "5 mm", "6 mm"),
         "dimensions": ("183 x 61 cm", "185 x 68 cm"),
         "weight": ("1.1 kg", "2.5 kg")},
        (("A {thickness} yoga mat of {material}, {dimensions}.",
          "This {colour_lc} yoga mat of {material} is {thickness} thick."),
         ("The surface grips when wet, and alignment lines help with positioning.",
          "It weighs {weight} and comes with a carry strap.",
          "It lies flat without curling at the ends after unrolling."),
         ("Wipe it with a damp cloth and mild soap after use.",)),
    ),
    Family(
        "SPO", "Adjustable Dumbbell", 2, (149, 299), ("Kestova", "Duravik"),
        {"material": ("steel plates with a nylon-coated handle",),
         "sold_as": ("single dumbbell",)},
        (("An adjustable dumbbell of {material}, with weights from {weight_range}.",),
         ("A dial at each end selects the plates, and the tray holds the rest.",
          "The handle is knurled and coated for a firm grip with sweaty hands."),
         ("It is sold as a single dumbbell; order two for a pair.",)),
        (("24", {"weight_range": "2-24 kg"}), ("32", {"weight_range": "2.5-32 kg"})),
    ),
    Family(
        "SPO", "Kettlebell", 2, (29, 69), ("Kestova", "Duravik"),
        {"colour": ("Black", "Graphite"), "material": ("cast iron with a powder coating",)},
        (("A kettlebell of {material}, weighing {weight}.",),
         ("The wide handle has room for two hands, and the flat base keeps it upright.",
          "It is cast in one piece, so there are no welds that can loosen."),
         ("The powder coating gives a dry grip without chalk.",)),
        (("8", {"weight": "8 kg"}), ("12", {"weight": "12 kg"}), ("16", {"weight": "16 kg"})),
    ),
    Family(
        "SPO", "Resistance Band Set", 2, (19, 34), ("Pellago", "Kestova"),
        {"material": ("natural latex", "fabric with a latex grip"),
         "contents": ("5 bands from 5 to 40 kg", "3 bands from 10 to 30 kg")},
        (("A set of {contents}, made of {material}.",),
         ("The bands are colour-coded by resistance and come with a cotton bag and an exercise "
          "card.",
          "They work for warm-ups, physiotherapy exercises and strength training at home."),
         ("Keep them out of direct sunlight so the latex does not dry out.",)),
    ),
    Family(
        "SPO", "Foam Roller", 2, (19, 39), ("Duravik", "Pellago"),
        {"colour": SPORT_COLOURS, "material": ("EVA foam", "EPP foam"),
         "dimensions": ("33 x 14 cm", "45 x 15 cm"), "firmness": ("medium", "firm")},
        (("A {firmness} foam roller of {material}, {dimensions}.",),
         ("The textured surface works on calves, thighs and back after training.",
          "It holds its shape under body weight and does not flatten with use."),
         ("It is hollow and light enough to take to the gym.",)),
    ),
    Family(
        "SPO", "Jump Rope", 1, (14, 29), ("Kestova",),
        {"material": ("coated steel cable with aluminium handles",),
         "length": ("adjustable up to 3 m",), "weight": ("160 g",)},
        (("A speed jump rope of {material}, {length}.",),
         ("Ball bearings in the handles keep the rope turning smoothly at high speed.",),
         ("A spare cable is included.",)),
    ),
    Family(
        "SPO", "Hydration Vest", 2, (69, 119), ("Pellago", "Fjellstad"),
        {"colour": SPORT_COLOURS, "capacity": ("5 L", "8 L"),
         "flasks": ("2 soft flasks of 500 ml",), "sizes": ("XS-S, M-L, XL",)},
        (("A running vest with {capacity} of storage and two front pockets for soft flasks.",),
         ("It comes with {flasks}, and the back pocket takes a light jacket.",
          "Elastic side straps adjust the fit, so the vest does not bounce on the run."),
         ("Available in sizes {sizes}.",)),
    ),
    Family(
        "SPO", "Cycling Helmet", 2, (59, 129), ("Duravik", "Pellago"),
        {"colour": SPORT_COLOURS, "sizes": ("S 51-55 cm, M 54-58 cm, L 57-61 cm",),
         "weight": ("260 g", "310 g"), "standard": ("EN 1078",),
         "vents": ("16 vents", "22 vents")},
        (("A road and commuting helmet with {vents}, certified to {standard}.",),
         ("A dial at the back adjusts the fit, and a rear LED light clips into the cradle.",
          "An inner liner lets the shell rotate slightly on impact, which reduces the forces on "
          "the head."),
         ("It weighs {weight}; sizes {sizes}.",
          "Replace the helmet after any crash, even if no damage is visible.")),
    ),
    Family(
        "SPO", "Fitness Tracker", 2, (49, 99), ("Orvane", "Kestova"),
        {"colour": SPORT_COLOURS, "battery": ("7 days", "12 days"),
         "water_resistance": ("5 ATM",),
         "sensors": ("heart rate and SpO2", "heart rate, SpO2 and GPS")},
        (("A fitness tracker with {sensors} sensors and a battery that lasts up to "
          "{battery}.",),
         ("It is water resistant to {water_resistance} and tracks pool swimming.",
          "It shows notifications from your phone and vibrates for alarms."),
         ("The silicone strap can be swapped for any 20 mm strap.",)),
    ),
    Family(
        "SPO", "Sports Towel", 2, (14, 24), ("Pellago", "Duravik"),
        {"colour": SPORT_COLOURS, "material": ("microfibre",),
         "dimensions": ("80 x 130 cm", "60 x 120 cm")},
        (("A quick-drying towel of {material}, {dimensions}, with a mesh carry bag.",),
         ("It packs much smaller than cotton and dries in about an hour in the sun.",
          "It absorbs several times its weight in water and feels soft rather than slippery."),
         ("Wash it before first use.",)),
    ),
)

BEAUTY_RETURN_NOTE = "Opened products cannot be returned for hygiene reasons."

BEAUTY: tuple[Family, ...] = (
    Family(
        "BEA", "Face Cream", 2, (19, 39), ("Solvenna", "Aldora"),
        {"volume": ("50 ml",), "skin_type": ("dry and normal skin", "all skin types"),
         "key_ingredients": ("shea butter and niacinamide", "hyaluronic acid and squalane"),
         "scent": ("fragrance-free",)},
        (("A {volume} day and night cream with {key_ingredients} for {skin_type}.",),
         ("It absorbs quickly and can be worn under make-up.",
          "It is fragrance-free and suits sensitive skin."),
         (BEAUTY_RETURN_NOTE,)),
    ),
    Family(
        "BEA", "Hand Cream", 2, (8, 16), ("Saltmere", "Aldora"),
        {"volume": ("75 ml", "50 ml"),
         "key_ingredients": ("glycerin and oat oil", "shea butter and calendula"),
         "scent": ("unscented", "sea fennel")},
        (("A {volume} hand cream with {key_ingredients}.",),
         ("It is made for hands that are washed often or exposed to wind and cold.",
          "It leaves no greasy film, so you can type straight after applying it."),
         ("The aluminium tube is recyclable.",)),
    ),
    Family(
        "BEA", "Shampoo Bar", 2, (9, 14), ("Saltmere", "Solvenna"),
        {"weight": ("80 g", "70 g"), "hair_type": ("normal to oily hair", "dry hair"),
         "scent": ("rosemary and mint", "cedar and lemon")},
        (("A solid shampoo bar of {weight} for {hair_type}, scented with {scent}.",),
         ("One bar lasts about as long as two 250 ml bottles of liquid shampoo.",
          "It comes in a paper wrapper, so there is no plastic bottle to throw away."),
         ("Let it dry between uses on a draining soap dish.",)),
    ),
    Family(
        "BEA", "Body Wash", 2, (9, 16), ("Saltmere", "Aldora"),
        {"volume": ("250 ml", "400 ml"), "scent": ("juniper", "fig and cedar", "sea fennel"),
         "skin_type": ("all skin types",)},
        (("A {volume} body wash for {skin_type} with mild sugar-based cleansers.",),
         ("It has a light scent of {scent}.",
          "It foams well in hard water and rinses off without leaving skin tight."),
         ("The bottle is made of 100% recycled plastic.",)),
    ),
    Family(
        "BEA", "Lip Balm", 2, (4, 9), ("Solvenna", "Saltmere"),
        {"weight": ("4.8 g",),
         "key_ingredients": ("beeswax and sunflower oil", "candelilla wax and shea butter")},
        (("A {weight} lip balm with {key_ingredients}.",),
         ("It protects lips against cold and wind without a sticky finish.",
          "A thin layer before going out in frost or strong sun prevents chapping."),
         (BEAUTY_RETURN_NOTE, "The tube is made of cardboard.")),
    ),
    Family(
        "BEA", "Sunscreen", 2, (14, 24), ("Aldora", "Solvenna"),
        {"volume": ("100 ml", "200 ml"), "filter": ("mineral filters", "chemical filters"),
         "water_resistance": ("40 minutes",)},
        (("A {volume} sunscreen lotion with SPF {spf} and {filter}, for face and body.",),
         ("It is water resistant for {water_resistance} and absorbs within a minute.",
          "It protects against UVA and UVB and is suitable for children from 3 years."),
         ("Reapply every two hours and after swimming.",)),
        (("SPF 30", {"spf": "30"}), ("SPF 50", {"spf": "50"})),
    ),
    Family(
        "BEA", "Beard Oil", 1, (14, 22), ("Saltmere",),
        {"volume": ("30 ml",), "key_ingredients": ("jojoba and argan oil",),
         "scent": ("cedarwood",)},
        (("A {volume} beard oil of {key_ingredients} with a scent of {scent}.",),
         ("A few drops soften the beard and calm the skin underneath.",),
         ("The glass bottle has a dropper.",)),
    ),
    Family(
        "BEA", "Deodorant Stick", 2, (8, 14), ("Solvenna", "Saltmere"),
        {"weight": ("75 g",),
         "formula": ("aluminium-free, with baking soda", "aluminium-free and baking-soda-free"),
         "scent": ("bergamot", "vetiver", "unscented")},
        (("A {weight} deodorant stick, {formula}.",),
         ("Plant waxes and arrowroot powder absorb moisture through the day.",
          "Apply it to dry skin; it leaves no white marks on clothes."),
         ("The cardboard tube is compostable.", BEAUTY_RETURN_NOTE)),
    ),
    Family(
        "BEA", "Body Lotion", 2, (12, 24), ("Aldora", "Solvenna"),
        {"volume": ("200 ml", "300 ml"),
         "key_ingredients": ("oat and almond oil", "5% urea and glycerin"),
         "skin_type": ("dry skin", "normal skin")},
        (("A {volume} body lotion with {key_ingredients} for {skin_type}.",),
         ("It is light enough to use every day after showering.",
          "It relieves tight, flaky skin in winter."),
         ("It contains no added fragrance.",)),
    ),
    Family(
        "BEA", "Face Serum", 1, (24, 39), ("Aldora",),
        {"volume": ("30 ml",), "key_ingredients": ("10% vitamin C and ferulic acid",),
         "skin_type": ("all skin types",)},
        (("A {volume} face serum with {key_ingredients} for {skin_type}.",),
         ("Apply a few drops in the morning before moisturiser and sunscreen.",),
         ("Keep it in a cool place; the serum darkens slightly over time.",)),
    ),
    Family(
        "BEA", "Hair Brush", 1, (14, 29), ("Aldora",),
        {"material": ("beech wood with natural bristles and nylon pins",),
         "dimensions": ("23 x 7 cm",)},
        (("A paddle hair brush of {material}, {dimensions}.",),
         ("The mixed bristles detangle and spread natural oils through the hair.",),
         ("Clean it with lukewarm water and mild shampoo.",)),
    ),
    Family(
        "BEA", "Bamboo Toothbrush Set", 1, (9, 14), ("Solvenna",),
        {"contents": ("4 toothbrushes",), "material": ("bamboo handles and nylon bristles",),
         "bristles": ("soft",)},
        (("A set of {contents} with {material}.",),
         ("The bristles are {bristles}, and each handle has a number so a family can tell them "
          "apart.",),
         ("The handles can go in the compost once the bristles are removed.",)),
    ),
)

FAMILIES: tuple[Family, ...] = (
    OUTDOOR + FOOTWEAR + CLOTHING + BAGS + KITCHEN + HOME + ELECTRONICS + SPORTS + BEAUTY
)

# Stock levels: (low, high) ranges with weights; about 10% of products end up at 0.
STOCK_RANGES: Weighted[tuple[int, int]] = (((1, 5), 12), ((6, 40), 48), ((41, 250), 40))
RESTOCK_WEEKS = (1, 2, 2, 3, 4)

# --------------------------------------------------------------------------------------
# Customer seed tables
# --------------------------------------------------------------------------------------

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nl": (("Daan", "Sanne", "Lotte", "Bram", "Jeroen", "Femke", "Thijs", "Noor", "Ruben",
            "Anouk", "Maarten", "Eva", "Sem", "Julia", "Wouter", "Ilse"),
           ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
            "van Dijk", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer")),
    "be": (("Lucas", "Emma", "Louise", "Arthur", "Noah", "Elise", "Wout", "Marie", "Thomas",
            "Lien", "Pieter", "Camille"),
           ("Peeters", "Janssens", "Maes", "Claes", "Wouters", "Dubois", "Lambert", "Lemaire",
            "Goossens", "Willems", "Mertens", "Vermeulen")),
    "de": (("Jonas", "Lena", "Felix", "Anna", "Lukas", "Marie", "Paul", "Hannah", "Tobias",
            "Katrin", "Matthias", "Sophie", "Jan", "Miriam"),
           ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Wagner",
            "Schäfer", "Koch", "Richter", "Huber", "Gruber", "Meier")),
    "fr": (("Camille", "Julien", "Chloé", "Antoine", "Manon", "Hugo", "Léa", "Mathieu",
            "Élodie", "Nicolas"),
           ("Martin", "Bernard", "Moreau", "Laurent", "Girard", "Roux", "Fontaine", "Lefèvre",
            "Mercier", "Blanc")),
    "nordic": (("Astrid", "Mikkel", "Freja", "Erik", "Ingrid", "Lars", "Sofie", "Nils",
                "Elin", "Aino", "Henrik", "Sigrid"),
               ("Hansen", "Nielsen", "Andersson", "Johansson", "Larsen", "Berg", "Lindqvist",
                "Virtanen", "Solberg", "Dahl", "Holm", "Strand")),
    "en": (("Oliver", "Charlotte", "James", "Emily", "Harry", "Grace", "Liam", "Chloe",
            "Ethan", "Megan", "Sean", "Aoife", "Rachel", "Daniel"),
           ("Smith", "Taylor", "Brown", "Walsh", "Murphy", "Evans", "Clarke", "Wilson",
            "Campbell", "Bennett", "Hughes", "Kelly", "Foster", "Reid")),
    "south": (("Lucía", "Marco", "Giulia", "Pablo", "Sofia", "Alejandro", "Chiara", "Diego",
               "Inês", "Tiago"),
              ("García", "Rossi", "Fernández", "Bianchi", "Romano", "López", "Ferreira",
               "Costa", "Martínez", "Esposito")),
    "pl": (("Katarzyna", "Piotr", "Agnieszka", "Tomasz", "Magdalena", "Jakub"),
           ("Nowak", "Kowalczyk", "Mazur", "Krawczyk", "Wójcik", "Kaczmarek")),
}

# Country -> (name pool, cities, weight in the customer base). GB is the ISO code for the UK.
COUNTRIES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "NL": ("nl", ("Amsterdam", "Utrecht", "Rotterdam", "Den Haag", "Eindhoven", "Groningen",
                  "Haarlem", "Nijmegen", "Zwolle", "Leiden", "Amersfoort", "Arnhem",
                  "Maastricht", "Delft"), 34),
    "BE": ("be", ("Antwerpen", "Gent", "Brussel", "Leuven", "Brugge", "Mechelen", "Hasselt",
                  "Liège", "Namur"), 12),
    "DE": ("de", ("Berlin", "Hamburg", "München", "Köln", "Düsseldorf", "Münster", "Freiburg",
                  "Leipzig", "Hannover", "Bremen", "Aachen"), 17),
    "LU": ("fr", ("Luxembourg", "Esch-sur-Alzette", "Differdange"), 2),
    "FR": ("fr", ("Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Strasbourg"), 5),
    "AT": ("de", ("Wien", "Graz", "Innsbruck", "Salzburg"), 3),
    "DK": ("nordic", ("København", "Aarhus", "Odense"), 2),
    "SE": ("nordic", ("Stockholm", "Göteborg", "Malmö", "Uppsala"), 2),
    "FI": ("nordic", ("Helsinki", "Tampere"), 1),
    "IE": ("en", ("Dublin", "Cork", "Galway"), 2),
    "ES": ("south", ("Madrid", "Barcelona", "Valencia"), 3),
    "IT": ("south", ("Milano", "Torino", "Bologna"), 3),
    "PT": ("south", ("Lisboa", "Porto"), 1),
    "PL": ("pl", ("Warszawa", "Kraków", "Gdańsk"), 2),
    "GB": ("en", ("London", "Manchester", "Bristol", "Edinburgh", "Leeds"), 4),
    "CH": ("de", ("Zürich", "Bern", "Basel"), 2),
    "NO": ("nordic", ("Oslo", "Bergen", "Trondheim"), 1),
    "US": ("en", ("Seattle", "Portland", "Boston", "Denver", "Chicago"), 3),
    "CA": ("en", ("Toronto", "Vancouver", "Ottawa"), 1),
}

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
ASCII_FOLD = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "ł": "l", "œ": "oe"})
CUSTOMERS = 130
MIN_ORDERS = 330
ORDER_COUNTS: Weighted[int] = ((1, 34), (2, 26), (3, 18), (4, 12), (5, 10))
FREQUENT_BUYERS = 5

# --------------------------------------------------------------------------------------
# Shipping, payment and order-status rules (POLICIES.md)
# --------------------------------------------------------------------------------------

ZONE_OF: dict[str, str] = {
    "NL": "NL", "BE": "BENELUX", "DE": "BENELUX", "LU": "BENELUX",
    "FR": "EU", "AT": "EU", "DK": "EU", "SE": "EU", "FI": "EU", "IE": "EU", "ES": "EU",
    "IT": "EU", "PT": "EU", "PL": "EU",
    "GB": "EUROPE_NON_EU", "CH": "EUROPE_NON_EU", "NO": "EUROPE_NON_EU",
    "US": "NORTH_AMERICA", "CA": "NORTH_AMERICA",
}
# Zone -> (standard cost, free from subtotal), in cents.
STANDARD_RATES: dict[str, tuple[int, int]] = {
    "NL": (495, 5000), "BENELUX": (495, 5000), "EU": (795, 10000),
    "EUROPE_NON_EU": (1495, 15000), "NORTH_AMERICA": (1995, 20000),
}
# Zone -> business days in transit after dispatch (min, max).
STANDARD_TRANSIT: dict[str, tuple[int, int]] = {
    "NL": (1, 2), "BENELUX": (2, 3), "EU": (3, 5), "EUROPE_NON_EU": (4, 7),
    "NORTH_AMERICA": (6, 10),
}
EXPRESS_COST = 995
EXPRESS_TRANSIT: dict[str, tuple[int, int]] = {"NL": (1, 1), "BE": (1, 2), "DE": (1, 2)}
EXPRESS_SHARE = 0.15
LATE_SHARE = 0.05

COMMON_PAYMENTS: Weighted[str] = (
    ("Visa", 22), ("Mastercard", 20), ("PayPal", 20), ("Apple Pay", 10), ("Google Pay", 5),
    ("American Express", 5), ("Harbor & Pine gift card", 3),
)
LOCAL_PAYMENTS: dict[str, Weighted[str]] = {
    "NL": (("iDEAL", 60), ("Klarna", 12)), "BE": (("Bancontact", 50), ("Klarna", 8)),
    "DE": (("Klarna", 18),), "AT": (("Klarna", 14),), "SE": (("Klarna", 16),),
    "FI": (("Klarna", 12),), "DK": (("Klarna", 10),),
}
KLARNA = "Klarna"

# Target count per status; "delivered" takes whatever is left of the total.
STATUS_QUOTAS: dict[str, int] = {
    "pending": 18, "paid": 19, "shipped": 24, "out_for_delivery": 17, "cancelled": 24,
    "return_requested": 17, "returned": 16, "refunded": 22,
}
# Window of placement days tried for each target status (the simulation decides).
PLACED_WINDOWS: dict[str, tuple[date, date]] = {
    "pending": (date(2026, 11, 19), LAST_DAY),
    "paid": (date(2026, 11, 20), LAST_DAY),
    "shipped": (date(2026, 11, 6), LAST_DAY),
    "out_for_delivery": (date(2026, 11, 6), date(2026, 11, 21)),
    "delivered": (FIRST_DAY, date(2026, 11, 21)),
    "cancelled": (FIRST_DAY, LAST_DAY),
    "return_requested": (date(2026, 10, 1), date(2026, 11, 19)),
    "returned": (date(2026, 9, 20), date(2026, 11, 16)),
    "refunded": (FIRST_DAY, date(2026, 11, 10)),
}
BRANCH_OF: dict[str, str] = {
    "cancelled": "cancel", "return_requested": "return", "returned": "return",
    "refunded": "return",
}
# Relative chance of an order being placed in each local hour, 00..23.
HOUR_WEIGHTS = (1, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 6, 7, 9, 10, 9, 6, 3)
LINE_COUNTS: Weighted[int] = ((1, 46), (2, 30), (3, 16), (4, 8))
MAX_TRIES = 20000
FIRST_ORDER_NUMBER = 104381
FIRST_INVOICE_NUMBER = 12407
UPS_SHIPPER = "H7P4A2"
POSTNL_CUSTOMER = "HRPN"
MONEY_TAG = "@money:"
MONEY_PATTERN = re.compile(r'"@money:(-?\d+\.\d{2})"')
# fmt: on

# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def weighted(rng: random.Random, table: Weighted[T]) -> T:
    return rng.choices([value for value, _ in table], [weight for _, weight in table])[0]


def money(cents: int) -> str:
    """A placeholder that `write_json` turns into a JSON number with exactly two decimals."""
    return f"{MONEY_TAG}{cents // 100}.{cents % 100:02d}"


def write_json(path: Path, data: object) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False)
    path.write_bytes((MONEY_PATTERN.sub(r"\1", text) + "\n").encode("utf-8"))


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


# --------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------


@dataclass
class Product:
    sku: str
    name: str
    brand: str
    category: str
    price: int
    attributes: dict[str, str]
    description: str
    stock: int = 0
    delivery_estimate: str = ""

    def to_json(self) -> Json:
        return {
            "sku": self.sku,
            "name": self.name,
            "brand": self.brand,
            "category": self.category,
            "price": money(self.price),
            "currency": "EUR",
            "stock": self.stock,
            "attributes": self.attributes,
            "description": self.description,
            "delivery_estimate": self.delivery_estimate,
        }


def shelf_price(rng: random.Random, euros: float) -> int:
    """Round a raw price to a shop-like price in cents (4.95, 12.50, 39.95, 129.00...)."""
    whole = max(int(euros), 3)
    if whole < 20:
        return whole * 100 + rng.choice((50, 95, 95, 99))
    if whole >= 100 and rng.random() < 0.25:
        return (whole - whole % 10 + 9) * 100
    return (whole - whole % 5 + 4) * 100 + rng.choice((95, 95, 95, 99))


def family_price(rng: random.Random, family: Family, position: int) -> int:
    low, high = family.price
    span = high - low
    steps = max(len(family.variants) - 1, 1)
    base = low + span * 0.7 * position / steps if len(family.variants) > 1 else low
    top = base + span * (0.3 if len(family.variants) > 1 else 1.0)
    return shelf_price(rng, rng.uniform(base, top))


def product_attributes(
    rng: random.Random, family: Family, brand: str, variant: dict[str, str]
) -> dict[str, str]:
    attributes = {key: rng.choice(options) for key, options in family.attrs.items()}
    attributes.update(variant)
    own_bag = family.code == "BAG" or "Backpack" in family.kind
    if brand == HOUSE and own_bag and "Suitcase" not in family.kind:
        attributes["warranty"] = "5 years"
    return attributes


def describe(
    rng: random.Random, pools: Sequence[Sequence[str]], index: int, attributes: dict[str, str]
) -> str:
    """Two or three sentences; `pools` are the family's sentence pools, shuffled once, and
    `index` walks through them so products of one family read differently."""
    fields = {**attributes, "colour_lc": attributes.get("colour", "").lower()}
    first, second, third = (pool[index % len(pool)] for pool in pools)
    sentences = [first, second, third] if rng.random() < 0.6 else [first, second]
    return " ".join(sentence.format(**fields) for sentence in sentences)


def product_name(
    rng: random.Random, family: Family, brand: str, token: str, taken: dict[str, str]
) -> str:
    """Brand, model word, variant and product type; a model word belongs to one brand."""
    words = [w for w in MODELS[family.code] if taken.get(f"{family.code}:{w}", brand) == brand]
    while True:
        word = rng.choice(words)
        name = " ".join(part for part in (brand, word, token, family.kind) if part)
        if name not in taken:
            taken[name] = brand
            taken[f"{family.code}:{word}"] = brand
            return name


def family_products(
    rng: random.Random, family: Family, category: str, taken: dict[str, str]
) -> list[Product]:
    order = list(range(len(family.variants)))
    rng.shuffle(order)
    pools = [rng.sample(pool, len(pool)) for pool in family.text]
    products = []
    for index in range(family.count):
        position = order[index % len(order)]
        token, variant = family.variants[position]
        brand = family.brands[index % len(family.brands)]
        attributes = product_attributes(rng, family, brand, variant)
        products.append(
            Product(
                sku="",
                name=product_name(rng, family, brand, token, taken),
                brand=brand,
                category=category,
                price=family_price(rng, family, position),
                attributes=attributes,
                description=describe(rng, pools, index, attributes),
            )
        )
    return products


def stock_and_delivery(rng: random.Random, products: list[Product]) -> None:
    sold_out = set(rng.sample(range(len(products)), round(len(products) / 10)))
    for index, product in enumerate(products):
        if index in sold_out:
            weeks = rng.choice(RESTOCK_WEEKS)
            product.stock = 0
            unit = "week" if weeks == 1 else "weeks"
            product.delivery_estimate = f"Back in stock in about {weeks} {unit}"
            continue
        low, high = weighted(rng, STOCK_RANGES)
        product.stock = rng.randint(low, high)
        product.delivery_estimate = "Ships in 1 business day"
        if product.stock <= 5:
            product.delivery_estimate = f"Only {product.stock} left, ships in 1 business day"


def build_products(rng: random.Random) -> list[Product]:
    taken: dict[str, str] = {}  # product names and "CODE:model word" -> brand
    products: list[Product] = []
    for code, category in CATEGORIES:
        made = [
            p for f in FAMILIES if f.code == code for p in family_products(rng, f, category, taken)
        ]
        numbers = sorted(rng.sample(range(1001, 1999), len(made)))
        for number, product in zip(numbers, made, strict=True):
            product.sku = f"{code}-{number}"
        products.extend(made)
    if len({p.description for p in products}) != len(products):
        raise ValueError("two products share a description; add sentences to the seed tables")
    stock_and_delivery(rng, products)
    return products


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    country: str
    city: str


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(ASCII_FOLD))
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def make_email(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    given, family = ascii_fold(first), ascii_fold(last)
    patterns: tuple[str, ...] = (
        f"{given}.{family}",
        f"{given}{family}",
        f"{given[0]}.{family}",
        f"{family}.{given}",
        f"{given}.{family}{rng.randint(1, 99)}",
    )
    while True:
        email = f"{rng.choice(patterns)}@{rng.choice(EMAIL_DOMAINS)}"
        if email not in taken:
            taken.add(email)
            return email
        patterns = (f"{given}.{family}{rng.randint(100, 999)}",)


def build_customers(rng: random.Random) -> list[Customer]:
    countries = [(code, weight) for code, (_, _, weight) in COUNTRIES.items()]
    names: set[str] = set()
    emails: set[str] = set()
    customers: list[Customer] = []
    while len(customers) < CUSTOMERS:
        country = weighted(rng, countries)
        pool, cities, _ = COUNTRIES[country]
        first, last = rng.choice(NAMES[pool][0]), rng.choice(NAMES[pool][1])
        name = f"{first} {last}"
        if name in names:
            continue
        names.add(name)
        email = make_email(rng, first, last, emails)
        customers.append(Customer(name, email, country, rng.choice(cities)))
    return customers


def order_counts(rng: random.Random, customers: int) -> list[int]:
    counts = [weighted(rng, ORDER_COUNTS) for _ in range(customers)]
    for index in rng.sample(range(customers), FREQUENT_BUYERS):
        counts[index] = rng.randint(6, 9)
    while sum(counts) < MIN_ORDERS:
        index = rng.randrange(customers)
        if counts[index] < 5:
            counts[index] += 1
    return counts


# --------------------------------------------------------------------------------------
# Order life cycle
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    country: str
    method: str
    payment: str
    branch: str


@dataclass
class Timeline:
    """Every event of an order, including ones after NOW (those are not published)."""

    placed: datetime
    paid: datetime | None = None
    shipped: datetime | None = None
    out_for_delivery: datetime | None = None
    delivered: datetime | None = None
    cancelled: datetime | None = None
    return_requested: datetime | None = None
    returned: datetime | None = None
    refunded: datetime | None = None


def visible(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and moment <= NOW else None


def status_at_now(timeline: Timeline) -> str:
    steps = (
        ("cancelled", timeline.cancelled),
        ("refunded", timeline.refunded),
        ("returned", timeline.returned),
        ("return_requested", timeline.return_requested),
        ("delivered", timeline.delivered),
        ("out_for_delivery", timeline.out_for_delivery),
        ("shipped", timeline.shipped),
        ("paid", timeline.paid),
    )
    for status, moment in steps:
        if visible(moment) is not None:
            return status
    return "pending"


def transit_days(country: str, method: str) -> tuple[int, int]:
    if method == "express":
        return EXPRESS_TRANSIT[country]
    return STANDARD_TRANSIT[ZONE_OF[country]]


def carrier_for(country: str, method: str) -> str:
    if method == "express" or ZONE_OF[country] in ("EUROPE_NON_EU", "NORTH_AMERICA"):
        return "UPS"
    if country == "NL":
        return "PostNL"
    return "DPD" if country in ("BE", "LU") else "DHL"


def shipping_cost(country: str, method: str, subtotal: int) -> int:
    if method == "express":
        return EXPRESS_COST
    cost, free_from = STANDARD_RATES[ZONE_OF[country]]
    return 0 if subtotal >= free_from else cost


def business_moment(rng: random.Random, after: datetime, days: int) -> datetime:
    day = add_business_days(local(after).date(), days)
    return at_local(day, rng.randint(9, 16), rng.randint(0, 59), rng.randint(0, 59))


def payment_confirmed(rng: random.Random, placed: datetime, payment: str) -> datetime:
    if payment == KLARNA or rng.random() < 0.9:
        return placed + timedelta(seconds=rng.randint(20, 900))
    return placed + timedelta(minutes=rng.randint(60, 1800))  # a delayed confirmation


def ship(rng: random.Random, timeline: Timeline, plan: Plan, ready: datetime) -> None:
    day = dispatch_day(ready)
    timeline.shipped = at_local(day, rng.randint(16, 18), rng.randint(0, 59), rng.randint(0, 59))
    low, high = transit_days(plan.country, plan.method)
    days = rng.randint(low, high)
    if plan.method == "standard" and rng.random() < LATE_SHARE:
        days = high + rng.randint(1, 2)
    arrival = add_business_days(day, days)
    timeline.out_for_delivery = at_local(arrival, 7, rng.randint(0, 40), rng.randint(0, 59))
    timeline.delivered = at_local(
        arrival, rng.randint(9, 18), rng.randint(0, 59), rng.randint(0, 59)
    )


def cancel(rng: random.Random, timeline: Timeline) -> Timeline | None:
    """Cancel before dispatch; a paid order is refunded within 3 business days."""
    assert timeline.shipped is not None
    window = min(timeline.shipped - timeline.placed - timedelta(minutes=10), timedelta(days=2))
    if window < timedelta(minutes=10):
        return None
    seconds = rng.randint(300, int(window.total_seconds()))
    cancelled = timeline.placed + timedelta(seconds=seconds)
    paid = timeline.paid if timeline.paid is not None and timeline.paid < cancelled else None
    refunded = None if paid is None else business_moment(rng, cancelled, rng.randint(1, 3))
    return Timeline(timeline.placed, paid=paid, cancelled=cancelled, refunded=refunded)


def send_back(rng: random.Random, timeline: Timeline) -> None:
    """Return within 30 days of delivery; refund within 5 business days of arrival."""
    assert timeline.delivered is not None
    requested = timeline.delivered + timedelta(seconds=rng.randint(8 * 3600, 29 * 86400))
    timeline.return_requested = requested
    timeline.returned = business_moment(rng, requested, rng.randint(3, 7))
    timeline.refunded = business_moment(rng, timeline.returned, rng.randint(1, 5))


def simulate(rng: random.Random, placed: datetime, plan: Plan) -> Timeline | None:
    timeline = Timeline(placed)
    confirmed = payment_confirmed(rng, placed, plan.payment)
    ship(rng, timeline, plan, confirmed)
    # Klarna takes the payment when the parcel ships; everyone else pays at checkout.
    timeline.paid = timeline.shipped if plan.payment == KLARNA else confirmed
    if plan.branch == "cancel":
        return cancel(rng, timeline)
    if plan.branch == "return":
        send_back(rng, timeline)
    return timeline


def placed_moment(rng: random.Random, status: str) -> datetime:
    first, last = PLACED_WINDOWS[status]
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    return at_local(day, hour, rng.randint(0, 59), rng.randint(0, 59))


def sample_plan(rng: random.Random, country: str, branch: str) -> Plan:
    express = country in EXPRESS_TRANSIT and rng.random() < EXPRESS_SHARE
    payments = tuple(LOCAL_PAYMENTS.get(country, ())) + tuple(COMMON_PAYMENTS)
    return Plan(country, "express" if express else "standard", weighted(rng, payments), branch)


def plan_order(rng: random.Random, country: str, status: str) -> tuple[Plan, Timeline]:
    """Draw placements and plans until the simulated order is in `status` at NOW."""
    branch = BRANCH_OF.get(status, "none")
    for _ in range(MAX_TRIES):
        plan = sample_plan(rng, country, branch)
        timeline = simulate(rng, placed_moment(rng, status), plan)
        if timeline is not None and status_at_now(timeline) == status:
            return plan, timeline
    raise RuntimeError(f"could not simulate a {status} order to {country}")


# --------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    product: Product
    quantity: int

    @property
    def total(self) -> int:
        return self.product.price * self.quantity

    def to_json(self) -> Json:
        return {
            "sku": self.product.sku,
            "name": self.product.name,
            "quantity": self.quantity,
            "unit_price": money(self.product.price),
            "line_total": money(self.total),
        }


@dataclass
class Draft:
    customer: Customer
    city: str
    status: str
    plan: Plan
    timeline: Timeline
    lines: list[Line] = field(default_factory=list)


def quantity(rng: random.Random, price: int) -> int:
    if price < 2000:
        return rng.choice((1, 1, 2, 2, 3))
    return rng.choice((1, 1, 1, 2)) if price < 6000 else 1


def pick_lines(rng: random.Random, products: list[Product], status: str) -> list[Line]:
    in_warehouse = status in ("pending", "paid")  # not shipped yet: must be in stock
    pool = [p for p in products if p.stock > 0] if in_warehouse else products
    while True:
        chosen = rng.sample(pool, weighted(rng, LINE_COUNTS))
        returnable = any(p.category != "Beauty & Care" for p in chosen)
        if BRANCH_OF.get(status) != "return" or returnable:
            return [Line(p, quantity(rng, p.price)) for p in chosen]


def draft_order(
    rng: random.Random, customer: Customer, status: str, products: list[Product]
) -> Draft:
    plan, timeline = plan_order(rng, customer.country, status)
    city = customer.city
    if rng.random() < 0.08:  # now and then a parcel goes to another address
        city = rng.choice(COUNTRIES[customer.country][1])
    return Draft(customer, city, status, plan, timeline, pick_lines(rng, products, status))


def tracking_number(rng: random.Random, carrier: str, method: str, taken: set[str]) -> str:
    while True:
        number = carrier_number(rng, carrier, method)
        if number not in taken:
            taken.add(number)
            return number


def carrier_number(rng: random.Random, carrier: str, method: str) -> str:
    if carrier == "PostNL":
        return f"3S{POSTNL_CUSTOMER}{digits(rng, 9)}"
    if carrier == "DHL":
        return f"{rng.randint(1, 9)}{digits(rng, 11)}"
    if carrier == "DPD":
        return f"0{digits(rng, 13)}"
    return f"1Z{UPS_SHIPPER}{'01' if method == 'express' else '66'}{digits(rng, 8)}"


def estimated_delivery(draft: Draft) -> str | None:
    if draft.status == "cancelled":
        return None
    shipped = visible(draft.timeline.shipped)
    start = local(shipped).date() if shipped is not None else dispatch_day(NOW)
    _, high = transit_days(draft.plan.country, draft.plan.method)
    return add_business_days(start, high).isoformat()


def invoice_numbers(rng: random.Random, drafts: list[Draft]) -> dict[int, str]:
    """Invoices are numbered in the order in which the orders were paid."""
    paid = [i for i, d in enumerate(drafts) if visible(d.timeline.paid) is not None]
    paid.sort(key=lambda i: (drafts[i].timeline.paid, i))
    numbers: dict[int, str] = {}
    number = FIRST_INVOICE_NUMBER
    for index in paid:
        numbers[index] = f"INV-2026-{number:06d}"
        number += rng.randint(1, 4)
    return numbers


def render_order(draft: Draft, order_id: str, invoice: str | None, tracking: str | None) -> Json:
    timeline, plan = draft.timeline, draft.plan
    subtotal = sum(line.total for line in draft.lines)
    shipping = shipping_cost(plan.country, plan.method, subtotal)
    shipped = visible(timeline.shipped) is not None
    return {
        "order_id": order_id,
        "customer_name": draft.customer.name,
        "customer_email": draft.customer.email,
        "status": draft.status,
        "placed_at": iso(timeline.placed),
        "paid_at": iso(visible(timeline.paid)),
        "shipped_at": iso(visible(timeline.shipped)),
        "delivered_at": iso(visible(timeline.delivered)),
        "cancelled_at": iso(visible(timeline.cancelled)),
        "refunded_at": iso(visible(timeline.refunded)),
        "estimated_delivery": estimated_delivery(draft),
        "shipping_country": plan.country,
        "shipping_city": draft.city,
        "shipping_method": plan.method,
        "carrier": carrier_for(plan.country, plan.method) if shipped else None,
        "tracking_number": tracking,
        "invoice_number": invoice,
        "payment_method": plan.payment,
        "currency": "EUR",
        "items": [line.to_json() for line in draft.lines],
        "subtotal": money(subtotal),
        "shipping_cost": money(shipping),
        "total": money(subtotal + shipping),
    }


def build_drafts(
    rng: random.Random, customers: list[Customer], products: list[Product]
) -> list[Draft]:
    counts = order_counts(rng, len(customers))
    slots = [c for c, count in zip(customers, counts, strict=True) for _ in range(count)]
    rng.shuffle(slots)
    quotas = {**STATUS_QUOTAS, "delivered": len(slots) - sum(STATUS_QUOTAS.values())}
    statuses = [status for status, count in quotas.items() for _ in range(count)]
    rng.shuffle(statuses)
    drafts = [draft_order(rng, c, s, products) for c, s in zip(slots, statuses, strict=True)]
    drafts.sort(key=lambda d: d.timeline.placed)
    return drafts


def build_orders(
    rng: random.Random, customers: list[Customer], products: list[Product]
) -> list[Json]:
    drafts = build_drafts(rng, customers, products)
    invoices = invoice_numbers(rng, drafts)
    orders: list[Json] = []
    tracked: set[str] = set()
    number = FIRST_ORDER_NUMBER
    for index, draft in enumerate(drafts):
        tracking = None
        if visible(draft.timeline.shipped) is not None:
            carrier = carrier_for(draft.plan.country, draft.plan.method)
            tracking = tracking_number(rng, carrier, draft.plan.method, tracked)
        orders.append(render_order(draft, f"HP-{number}", invoices.get(index), tracking))
        number += rng.randint(1, 7)
    return orders


def main() -> None:
    rng = random.Random(SEED)
    products = build_products(rng)
    customers = build_customers(rng)
    orders = build_orders(rng, customers, products)
    write_json(PRODUCTS_PATH, [product.to_json() for product in products])
    write_json(ORDERS_PATH, orders)
    print(f"wrote {len(products)} products to {PRODUCTS_PATH.relative_to(ROOT)}")
    print(f"wrote {len(orders)} orders to {ORDERS_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
