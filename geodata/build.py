"""Build placesim's data packages (``geodata/<year>/``) from public Civil Service statistics.

Usage::

    python geodata/build.py --year 2021|2022|2023|all [--src DIR] [--out DIR]
    python geodata/build.py --vendor [--src ../shared/geodata-src]   # refresh geodata/sources

One package per census year (31 March) of Civil Service Statistics (ACSES). Every package uses
the same districts (LAD 2023), so years compare. ``--src`` defaults to ``geodata/sources/``:
the raw tables the builds need, copied byte for byte from ``shared/geodata-src`` (with the
People Survey workbooks reduced to the rows used, see :func:`extract_csps`). Building from
``../shared/geodata-src`` gives the same packages. A source row that cannot be read or placed
stops the build with a message naming the file and the row.

Every output is described, with provenance, vintage, licence and method, in
``geodata/README.md``. Assumption constants are at the top of this file.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from placesim.geodata import file_sha256
from placesim.maps import MESH_FILE, build_mesh

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
VENDORED = HERE / "sources"
YEARS = (2021, 2022, 2023)
GRADES8 = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS")
GROUP_2019 = {"AA": "aa_ao", "AO": "aa_ao", "EO": "eo", "HEO": "heo_seo", "SEO": "heo_seo",
              "G7": "g6_g7", "G6": "g6_g7", "SCS": "scs"}

# --- BUILD SETTINGS ---------------------------------------------------------------------------
DISTRICT_YEAR = 2023          # LAD vintage of every package (one geography, so years compare)
SIMPLIFY_TOLERANCE = 0.002    # degrees (~150-200 m); Douglas-Peucker, topology preserved
COORD_GRID = 1e-4             # coordinates snapped to 0.0001 degrees (~10 m)
# ACSES suppresses in-post cells ('..'/[c]) below 5 (2022, 2023) or below 30 (2021). Estimate:
# 2022/2023: 2 (inside 1-4); 2021: 9, derived: (UK in-post 484,880 - 482,880 published in the
# ITL3 x grade cells) / 218 suppressed cells = 9.2. (The same residual gives 3.1 for 2022 and
# 2.9 for 2023, within the +/-0.8 noise of rounding every cell to 5; 2 is kept.)
SUPPRESSED_CELL = {2021: 9.0, 2022: 2.0, 2023: 2.0}
SEED_FLOOR_SHARE = 0.02       # 2019 seed floor: 2% of the district's all-grade 2019 staff ...
SEED_FLOOR_CONST = 0.5        # ... plus 0.5, so a grade absent in 2019 can still be filled
IPF_ITERATIONS = 200
# 2023 names where both the topojson and smc_area_to_lad.csv carry a later name
# (SOURCES.md: Tewkesbury E07000083 appears under its 2025 name "North Gloucestershire").
NAME_FIXES = {"E07000083": "Tewkesbury"}
# People Survey used for each package's SEB margins: the survey of the same year (fieldwork in
# the autumn after the 31 March census); all of 2021-2024 publish the margins needed (grade
# band Z02, work region H01, profession H8B) as respondent counts. EXCEPT 2023, which keeps
# the 2024 survey it was first built with: the engine's calibration (calibration.py,
# CSPS_2024_SEB_BY_BAND) derives its SEB promotion odds from the 2024 survey, and a 2023
# stock against 2024 odds drifts more (SCS2 high-SEB share +3 points in 10 years, against
# +1.3 now). Set 2023: 2023 once calibration reads the package's own survey (README).
CSPS_YEAR = {2021: 2021, 2022: 2022, 2023: 2024}

# --- ACSES 2021 ------------------------------------------------------------------------------
# ACSES 2021 publishes grades in groups; each group is split into ACSES grades by the ACSES
# 2022 within-group ratios of the same region (ITL1, which includes London) for the in-post
# tables, and by the 2022 national within-group ratios of the same status for the flows.
GRADE_GROUPS_2021 = {"AA/AO": ("AA", "AO"), "EO": ("EO",), "SEO/HEO": ("HEO", "SEO"),
                     "G6/G7": ("G7", "G6"), "SCS": ("SCS",), "Unknown": ("Unknown",)}
# ACSES 2021 names 19 ITL3 areas as NUTS 2018 did; acses_itl_name_to_code.csv has no code for
# them. Each is the ITL 2021 ITL3 area of the same ITL2 whose name differs only by
# punctuation or a "CC" suffix (checked against itl1_itl2_itl3_headcount.csv, same ITL2).
# The boundaries are the same except Bournemouth and Poole / Dorset CC: NUTS 2018 puts
# Christchurch in Dorset CC, ITL 2021 in Bournemouth, Christchurch and Poole (TLK24); the 2019
# staff-in-post file has no civil servants at a Christchurch (BH23) postcode, so it is immaterial.
ITL3_NUTS2018_NAMES = {
    "Bournemouth and Poole": "TLK24", "Dorset CC": "TLK25", "Somerset": "TLK23",
    "Gloucestershire": "TLK13", "Buckinghamshire CC": "TLJ13", "Oxfordshire": "TLJ14",
    "Durham CC": "TLC14", "Lincolnshire": "TLF30", "Hertfordshire": "TLH23", "Suffolk": "TLH14",
    "Warwickshire": "TLG13", "Worcestershire": "TLG12", "Shropshire CC": "TLG22",
    "Caithness and Sutherland and Ross and Cromarty": "TLM61",
    "Inverness and Nairn and Moray, Badenoch and Strathspey": "TLM62",
    "Lochaber, Skye and Lochalsh, Arran and Cumbrae and Argyll and Bute": "TLM63",
    "Perth and Kinross and Stirling": "TLM77",
    "East Dunbartonshire, West Dunbartonshire and Helensburgh and Lomond": "TLM81",
    "Inverclyde, East Renfrewshire and Renfrewshire": "TLM83",
}
STATUSES = {"In post": "in_post", "Leaver CS": "leavers_cs", "Leaver Dept.": "leavers_dept",
            "New entrant CS": "entrants"}
NOT_PLACED = ("Overseas", "Unknown")  # ACSES region rows that are no territorial unit

# --- ASSUMPTIONS (documented in README.md, section Methods) ---------------------------------
# SCS pay bands at 1 April 2023 (written PQ 2438, 28 Nov 2023; facts.md section G):
# SCS2 1,140, SCS3 180, PS 45; the rest of ACSES "SCS level" is SCS1.
SCS_BAND_TOTALS = {"SCS2": 1140, "SCS3": 180, "PS": 45}
SCS_BAND_YEAR = 2023
# ASSUMPTION (other years): the bands keep their 2023 share of ACSES "SCS level" (7,385 in
# 2023), i.e. SCS2 = 1,140 x SCS(year) / 7,385, rounded.
SCS_LEVEL_2023 = 7385
# ASSUMPTION: where the bands sit. Directors and DGs are more London-concentrated than SCS1
# (ACSES SCS overall: 62.4% of UK-based in London).
SCS_BAND_LONDON_SHARE = {"SCS2": 0.75, "SCS3": 0.85}
# ASSUMPTION: permanent secretaries all in London except the Scottish Government's (Edinburgh)
# and the Welsh Government's (Cardiff).
PS_OUTSIDE_LONDON = {"S12000036": 1, "W06000015": 1}
# ASSUMPTION (no public figure, facts.md C5): private office posts ~ 120 ministers x ~6-7 staff.
PRIVATE_OFFICE_TOTAL = 800
PRIVATE_OFFICE_GRADE_SHARE = {"HEO": 0.30, "SEO": 0.30, "G7": 0.30, "G6": 0.10}
PRIVATE_OFFICE_POSTS = {g: round(PRIVATE_OFFICE_TOTAL * v)
                        for g, v in PRIVATE_OFFICE_GRADE_SHARE.items()}
PRIVATE_OFFICE_LONDON_SHARE = 0.95        # ASSUMPTION; the rest in Edinburgh and Cardiff
PRIVATE_OFFICE_OUTSIDE = ("S12000036", "W06000015")

# --- PEOPLE SURVEY (Civil Service People Survey, results by socio-economic background) -------
# Workbooks in csps/ (2019 .xlsx shares; 2021-2024 .ods respondent counts). NS-SEC of the main
# earner at 14: high = "High"; intermediate = "Intermediate"; low = "Routine" + "Never worked
# (or long term unemployed)"; respondents who did not answer are not in the counts, so shares
# are over these four classes.
CSPS_WORKBOOK = "csps/Civil-Service-People-Survey-{y}-results-by-socio-economic-background.{ext}"
CSPS_EXTRACT = "csps/csps_seb_extract.csv"  # the rows used, written by --vendor
CSPS_YEARS = (2019, 2021, 2022, 2023, 2024)
CSPS_CLASSES = {"High": "high", "Intermediate": "intermediate", "Routine": "routine",
                "Never worked": "never_worked",
                "Never worked or long term unemployed": "never_worked"}
CSPS_SHEETS = {"High": "high", "Intermediate": "intermediate", "Routine": "routine",
               "Never_worked": "never_worked"}
CSPS_QUESTIONS = ("Z02", "H01", "H04", "H8B")  # grade band, work region, service, profession
CSPS_BAND_NAMES = {"AO/AA": "AA/AO", "AO / AA": "AA/AO", "AA/AO": "AA/AO", "EO": "EO",
                   "SEO/HEO": "HEO/SEO", "SEO / HEO": "HEO/SEO", "HEO/SEO": "HEO/SEO",
                   "G6/7": "G7/G6", "G6 / 7": "G7/G6", "Grade 7/6": "G7/G6", "SCS": "SCS"}
CSPS_NOT_UK_REGION = ("England (all)", "Outside of the United Kingdom", "Outside of the UK",
                      "England")
# H04 "How long have you worked for the Civil Service?": harmonised bands (years) and, for
# 2024, the finer published bands (nested in the harmonised ones).
CSPS_SERVICE = {
    "Less than 1 year": ("<1", None), "1 year but less than 3 years": ("1-3", None),
    "3 years but less than 5 years": ("3-5", None),
    "5 years but less than 10 years": ("5-10", None), "10 years or more": ("10+", None),
    "1 to 3 years": ("1-3", None), "3 to 5 years": ("3-5", None),
    "5 to 10 years": ("5-10", None), "More than 10 years": ("10+", None),
    "Less than 6 months": ("<1", "<0.5"),
    "At least 6 months but not more than 1 year": ("<1", "0.5-1"),
    "At least 1 year but not more than 3 years": ("1-3", "1-3"),
    "At least 3 years but not more than 5 years": ("3-5", "3-5"),
    "At least 5 years but not more than 10 years": ("5-10", "5-10"),
    "At least 10 years but not more than 20 years": ("10+", "10-20"),
    "At least 20 years or more": ("10+", "20+"),
}
BAND_OF = {"AA": "AA/AO", "AO": "AA/AO", "EO": "EO", "HEO": "HEO/SEO", "SEO": "HEO/SEO",
           "G7": "G7/G6", "G6": "G7/G6", "SCS1": "SCS", "SCS2": "SCS", "SCS3": "SCS",
           "PS": "SCS"}
GRADES11 = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "PS")
# DfE Opportunity Areas (facts.md section E) -> LAD 2023. Scarborough and West Somerset were
# abolished in 2023 (North Yorkshire E06000065) and 2019/2023 (Somerset West and Taunton, then
# Somerset E06000066): the OA maps to the successor unitary.
OPPORTUNITY_AREAS = {
    "West Somerset": ["E06000066"], "Norwich": ["E07000148"], "Blackpool": ["E06000009"],
    "North Yorkshire Coast (Scarborough)": ["E06000065"], "Derby": ["E06000015"],
    "Oldham": ["E08000004"], "Bradford": ["E08000032"], "Doncaster": ["E08000017"],
    "Fenland and East Cambridgeshire": ["E07000010", "E07000009"], "Hastings": ["E07000062"],
    "Ipswich": ["E07000202"], "Stoke-on-Trent": ["E06000021"],
}
# Sites: rows of hubs/pfg_hub_locations_lad_centroids.csv (keyed by its `site` text) ->
# (site_id, short name, theme, capacity, extra evidence). Themes: facts.md section B
# (thematic campuses 2025: Darlington growth, Sheffield opportunity, Leeds health; May 2025:
# Manchester digital/AI campus, Aberdeen energy campus). Capacities only where a source gives one.
SITE_META = {
    "Darlington Economic Campus": (
        "darlington", "Darlington Economic Campus", "growth", 1450,
        "£118m government hub for a further 1,450 roles (Cabinet Office release via govwire, "
        "Mar 2024); growth mission campus (Cabinet Office, 2025)"),
    "Greater Manchester / Salford (DSIT & DESNZ second HQ; digital/AI campus)": (
        "salford", "Salford (DSIT & DESNZ second HQ)", "digital", None,
        "Manchester digital/AI campus (May 2025)"),
    "Manchester": ("manchester", "Manchester", "digital", None,
                   "Manchester digital/AI campus (May 2025 Plan for Change)"),
    "Leeds": ("leeds", "Leeds", "health", None, "health mission campus (Cabinet Office, 2025)"),
    "Glasgow": ("glasgow", "Glasgow", "", None, ""),
    "Birmingham": ("birmingham", "Birmingham", "", None, ""),
    # (no capacity: the 1,000 is the staff already there, not desks for roles moved in,
    # which the model's capacity is; it let plans put 1,000 more posts there; review)
    "Sheffield": ("sheffield", "Sheffield Policy Campus", "opportunity", None,
                  "about 1,000 policy professionals and 75 SCS already there (CSW 9 Jun 2023: "
                  "staff in post, not desks for more); opportunity mission (Sheffield City "
                  "Council, 2025)"),
    "Aberdeen (DESNZ second HQ; energy campus)": (
        "aberdeen", "Aberdeen (DESNZ second HQ)", "energy", None, ""),
    "Wrexham": ("wrexham", "Wrexham", "", 300, "+300 roles (WMS 12 Dec 2023)"),
    "Belfast": ("belfast", "Belfast", "", None, "May 2025 growth location"),
    "Cardiff": ("cardiff", "Cardiff", "", None, "May 2025 growth location"),
    "Tyneside / Newcastle": ("newcastle", "Newcastle / Tyneside", "", None, ""),
    "York": ("york", "York", "", None, ""),
    "Edinburgh": ("edinburgh", "Edinburgh (Queen Elizabeth House)", "", None,
                  "named a May 2025 growth location (facts.md B); the hub itself unconfirmed"),
    "Bristol": ("bristol", "Bristol", "", None,
                "named a May 2025 growth location (facts.md B); the hub itself unconfirmed"),
    "Wolverhampton": ("wolverhampton", "Wolverhampton (MHCLG second HQ)", "", None, ""),
    "Peterborough": ("peterborough", "Peterborough", "", None, ""),
    "East Kilbride": ("east-kilbride", "East Kilbride (FCDO Abercrombie House)", "", None, ""),
}
# Sites that must exist (the build fails otherwise); add rows to SITE_ADDITIONS for any
# location the raw file lacks: (site_id, name, lad_code, theme, kind, capacity, confirmed, evidence)
REQUIRED_SITES = ("darlington", "sheffield", "leeds", "manchester", "salford", "glasgow",
                  "birmingham", "cardiff", "edinburgh", "belfast", "bristol", "newcastle",
                  "york", "aberdeen", "wrexham")
SITE_ADDITIONS: list[tuple] = []

# --- DEPARTMENTS (ACSES "parent department") --------------------------------------------------
# Raw tables of the department fit (README, Methods, "Departments"); 2021 has no London table.
DEPT_TABLES = {2021: ("parent_dept_by_itl1", "parent_dept_by_itl3", "parent_dept_grade_by_itl1"),
               2022: ("parent_dept_by_itl1", "parent_dept_by_itl3", "parent_dept_grade_by_itl1",
                      "parent_dept_grade_by_london"),
               2023: ("parent_dept_by_itl1", "parent_dept_by_itl3", "parent_dept_grade_by_itl1",
                      "parent_dept_grade_by_london")}
# Civil servants by organisation x postcode x grade, 31 March 2019: where each department sits
# inside an ITL3 area (the ACSES tables stop at ITL3).
ORG_2019 = "civil-service/cs_staff_in_post_by_org_postcode_grade_2019.csv"

# One row per ACSES parent department of 2021-2023: (code, the names ACSES publishes it under,
# other codes and names that resolve to it, note). Codes are stable across years: a renamed
# department keeps its code, and a machinery-of-government change after 31 March 2023 is
# recorded as aliases and a note, not as a new row (ACSES 2023 still reports the old shape).
DEPARTMENTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("AGO", ("Attorney General's Departments",), ("AGD", "Attorney General's Office"),
     "Attorney General's Office, Crown Prosecution Service, Government Legal Department, "
     "Serious Fraud Office and HMCPSI"),
    ("BEIS", ("Department for Business, Energy and Industrial Strategy",), ("DESNZ", "DSIT"),
     "Split on 7 February 2023 into DESNZ, DSIT and (with DIT) DBT; ACSES 2023 (31 March) still "
     "reports BEIS, so DESNZ and DSIT resolve here"),
    ("CC", ("Charity Commission",), (), ""),
    ("CMA", ("Competition and Markets Authority",), (), ""),
    ("CO", ("Cabinet Office",), (), ""),
    ("COD", ("Chancellor's other departments",), (),
     "Government Actuary's Department, NS&I, Office for Budget Responsibility"),
    ("DCMS", ("Department for Digital, Culture, Media and Sport",),
     ("Department for Culture, Media and Sport",),
     "Digital functions moved to DSIT on 7 February 2023 (not yet in ACSES 2023)"),
    ("DEFRA", ("Department for Environment, Food and Rural Affairs",), (), ""),
    ("DFE", ("Department for Education",), (), ""),
    ("DFT", ("Department for Transport",), (), ""),
    ("DHSC", ("Department of Health and Social Care",), (), ""),
    ("DIT", ("Department for International Trade",), ("DBT", "Department for Business and Trade"),
     "Merged with BEIS's business functions into DBT on 7 February 2023; DBT resolves here"),
    ("DWP", ("Department for Work and Pensions",), (), ""),
    ("ESTYN", ("ESTYN", "Estyn"), (), ""),
    ("FCDO", ("Foreign, Commonwealth and Development Office",), ("FCO", "DFID"),
     "FCO and DFID merged on 2 September 2020"),
    ("FSA", ("Food Standards Agency",), (), ""),
    ("HMLR", ("HM Land Registry",), (), ""),
    ("HMRC", ("HM Revenue and Customs",), (), ""),
    ("HMT", ("HM Treasury",), (), ""),
    ("HO", ("Home Office",), (), ""),
    ("MHCLG", ("Ministry of Housing, Communities and Local Government",
               "Department for Levelling Up, Housing and Communities"), ("DLUHC",),
     "MHCLG until 19 September 2021 (ACSES 2021), DLUHC from then (ACSES 2022, 2023), MHCLG "
     "again from 8 July 2024: one code in every year"),
    ("MOD", ("Ministry of Defence",), (), ""),
    ("MOJ", ("Ministry of Justice",), (), ""),
    ("NCA", ("National Crime Agency",), (), ""),
    ("NIO", ("Northern Ireland Office",), (), ""),
    ("OCOA", ("Other Cabinet Office Agencies",), (), "Published in ACSES 2021 only"),
    ("OFGEM", ("Office of Gas and Electricity Markets",), (), ""),
    ("OFQUAL", ("Office of Qualifications and Examinations Regulation",), (), ""),
    ("OFSTED", ("Office for Standards in Education",
                "Office for Standards in Education, Children's Services and Skills"), (), ""),
    ("OFWAT", ("Water Services Regulation Authority",), (), ""),
    ("ORR", ("Office of Rail and Road",), (), ""),
    ("OSSS", ("Scotland Office", "Office of the Secretary of State for Scotland"), (), ""),
    ("OSSW", ("Wales Office", "Office of the Secretary of State for Wales"), (), ""),
    ("SG", ("Scottish Government",), (), ""),
    ("TNA", ("The National Archives",), (), ""),
    ("UKEF", ("UK Export Finance",), (), ""),
    ("UKSA", ("United Kingdom Statistics Authority", "UK Statistics Authority"), ("ONS",), ""),
    ("UKSC", ("UK Supreme Court",), (), ""),
    ("WG", ("Welsh Government",), (), ""),
)
# The 103 organisations of the 2019 staff-in-post file -> parent department code (their
# parent at 31 March 2021-2023; organisations since merged follow their successor, e.g. DFID
# and FCO Services -> FCDO, Public Health England -> DHSC, DExEU -> CO). ASSUMPTION for three
# small bodies whose ACSES parent is not published: Government in Parliament (100 staff) ->
# CO, Queen Elizabeth II Centre (50) -> MHCLG, Office for Budget Responsibility (30) -> COD.
ORG_2019_DEPARTMENT = {
    "Department for Work and Pensions": "DWP", "Health and Safety Executive": "DWP",
    "HM Revenue and Customs": "HMRC", "Valuation Office Agency": "HMRC",
    "Her Majesty's Prison and Probation Service": "MOJ",
    "Her Majesty's Courts and Tribunals Service": "MOJ",
    "Ministry of Justice (excl. agencies)": "MOJ", "Office of the Public Guardian": "MOJ",
    "Legal Aid Agency": "MOJ", "Criminal Injuries Compensation Authority": "MOJ",
    "Ministry of Defence": "MOD", "Defence Equipment and Support": "MOD",
    "Defence Science and Technology Laboratory": "MOD", "UK Hydrographic Office": "MOD",
    "Home Office (excl. agencies)": "HO",
    "Cabinet Office (excl. agencies)": "CO", "Crown Commercial Service": "CO",
    "Government Property Agency": "CO", "Department for Exiting the European Union": "CO",
    "Government in Parliament": "CO",
    "Crown Prosecution Service": "AGO", "Government Legal Department": "AGO",
    "Serious Fraud Office": "AGO", "Attorney General's Office": "AGO",
    "Crown Prosecution Service Inspectorate": "AGO",
    "Driver and Vehicle Licensing Agency": "DFT", "Driver and Vehicle Standards Agency": "DFT",
    "Department for Transport (excl. agencies)": "DFT", "Maritime and Coastguard Agency": "DFT",
    "Vehicle Certification Agency": "DFT",
    "HM Land Registry": "HMLR", "Welsh Government": "WG", "Welsh Revenue Authority": "WG",
    "Public Health England": "DHSC", "Department of Health and Social Care (excl. agencies)":
    "DHSC", "Medicines and Healthcare Products Regulatory Agency": "DHSC",
    "Department for Education": "DFE", "Education and Skills Funding Agency": "DFE",
    "Standards and Testing Agency": "DFE", "Teaching Regulation Agency": "DFE",
    "Institute for Apprenticeships and Technical Education": "DFE",
    "United Kingdom Statistics Authority": "UKSA",
    "Department for Environment, Food and Rural Affairs (excl. agencies)": "DEFRA",
    "Animal and Plant Health Agency": "DEFRA", "Rural Payments Agency": "DEFRA",
    "Centre for Environment, Fisheries and Aquaculture Science": "DEFRA",
    "Veterinary Medicines Directorate": "DEFRA",
    "Department for Business, Energy and Industrial Strategy (excl. agencies)": "BEIS",
    "Met Office": "BEIS", "Insolvency Service": "BEIS", "UK Intellectual Property Office": "BEIS",
    "Companies House": "BEIS", "Advisory, Conciliation and Arbitration Service": "BEIS",
    "UK Space Agency": "BEIS",
    "Foreign and Commonwealth Office (excl. agencies)": "FCDO",
    "Department for International Development": "FCDO", "FCO Services": "FCDO",
    "Wilton Park": "FCDO",
    "Ministry of Housing, Communities and Local Government (excl. agencies)": "MHCLG",
    "Planning Inspectorate": "MHCLG", "Queen Elizabeth II Centre": "MHCLG",
    "Office for Standards in Education, Children's Services and Skills": "OFSTED",
    "Department for International Trade": "DIT", "HM Treasury": "HMT",
    "Government Internal Audit Agency": "HMT", "Debt Management Office": "HMT",
    "National Infrastructure Commission": "HMT",
    "Government Actuary's Department": "COD", "National Savings and Investments": "COD",
    "Office for Budget Responsibility": "COD",
    "Food Standards Agency": "FSA", "Department for Digital, Culture, Media and Sport": "DCMS",
    "Office of Gas and Electricity Markets": "OFGEM", "Competition and Markets Authority": "CMA",
    "The National Archives": "TNA", "Charity Commission": "CC", "UK Export Finance": "UKEF",
    "Office of Rail and Road": "ORR", "Water Services Regulation Authority": "OFWAT",
    "Ofqual": "OFQUAL", "ESTYN": "ESTYN", "Northern Ireland Office": "NIO",
    "Scotland Office (incl. Office of the Advocate General for Scotland)": "OSSS",
    "Wales Office": "OSSW", "UK Supreme Court": "UKSC",
    **{org: "SG" for org in (
        "Scottish Government (excl. agencies)", "Scottish Prison Service",
        "Crown Office and Procurator Fiscal Service", "Scottish Courts and Tribunals Service",
        "Registers of Scotland", "Transport Scotland", "National Records of Scotland",
        "Social Security Scotland", "Scottish Public Pensions Agency", "Disclosure Scotland",
        "Education Scotland", "Student Awards Agency for Scotland", "Food Standards Scotland",
        "Accountant in Bankruptcy", "Revenue Scotland", "Scottish Housing Regulator",
        "Office of the Scottish Charity Regulator", "Scottish Fiscal Commission")},
}
DEPT_IPF_SWEEPS = 100         # sweeps over all margins before the exact two-margin finish
DEPT_IPF_TOLERANCE = 1e-6     # posts: largest margin error accepted at the finish
# ASSUMPTION: departments' share of a suppressed cell is the cell estimate SUPPRESSED_CELL
# (the per-table residual is 8.0-9.8 for 2021 and 1.6-2.7 for 2022/2023, README).
# Departments' SCS London share is checked only where at least this many UK-based SCS are
# published, so that one post is at most the 2-point tolerance.
DEPT_SCS_CHECK_MIN = 50


class BuildError(Exception):
    """A source table that cannot be read or placed: the message names the file and the row."""


def code_map(changes: pd.DataFrame, year: int):
    """old LAD code -> code in force in ``year`` (follows mergers and recodes)."""
    ch = changes[(changes["start"] <= year) & changes["newcd"].str.match(r"^[ENSW]0[6789]|"
                                                                          r"^[ENSW]1[2]|^N09")]
    nxt = dict(zip(ch["oldcd"], ch["newcd"], strict=False))

    def f(c: str) -> str:
        seen = set()
        while c in nxt and c not in seen:
            seen.add(c)
            c = nxt[c]
        return c

    return f


def largest_remainder(x: np.ndarray, total: int | None = None) -> np.ndarray:
    total = int(round(x.sum())) if total is None else total
    base = np.floor(x).astype(np.int64)
    rem = total - base.sum()
    if rem > 0:
        base[np.argsort(-(x - base), kind="stable")[:rem]] += 1
    return base


def build_districts(src: Path) -> gpd.GeoDataFrame:
    g = gpd.read_file(src / "boundaries/ons_uk_topo_2014_2025.topojson", layer="ltla")
    s = g["start"].fillna(0).astype(float)
    e = g["end"].fillna(9999).astype(float)
    g = g[(s <= DISTRICT_YEAR) & (e >= DISTRICT_YEAR)].copy()
    lk = pd.read_csv(src / "smc/smc_area_to_lad.csv")
    # the topojson keeps pre-2019 codes for Glasgow City and North Lanarkshire
    topo_to_23 = dict(zip(lk["topojson_areacd"], lk["lad23cd"], strict=True))
    names = dict(zip(lk["lad23cd"], lk["lad23nm"], strict=True))  # 2023 names (Tewkesbury)
    g["lad_code"] = g["areacd"].map(topo_to_23).fillna(g["areacd"])
    g["lad_name"] = g["lad_code"].map(names).fillna(g["areanm"])
    g["lad_name"] = g["lad_code"].map(NAME_FIXES).fillna(g["lad_name"])
    g = g.set_crs(4326, allow_override=True)
    g["geometry"] = shapely.make_valid(g.geometry.values)
    g["geometry"] = g.geometry.simplify(SIMPLIFY_TOLERANCE, preserve_topology=True)
    g["geometry"] = shapely.make_valid(shapely.set_precision(g.geometry.values, COORD_GRID))
    # centroid: ONS LAD May 2021 LONG/LAT where the district existed in 2021, else (the four
    # 2023 unitaries) the representative point of the polygon (computed in British National Grid)
    ons = gpd.read_file(src / "boundaries/Local_Authority_Districts_May_2021_UK_BUC.geojson",
                        ignore_geometry=True).set_index("LAD21CD")
    rep = g.to_crs(27700).geometry.representative_point().to_crs(4326)
    g["centroid_lon"] = g["lad_code"].map(ons["LONG"]).fillna(rep.x).round(5)
    g["centroid_lat"] = g["lad_code"].map(ons["LAT"]).fillna(rep.y).round(5)
    # ITL codes from the LAD 2020 lookup; later LADs take their predecessors' codes
    itl = pd.read_csv(src / "regions/LAD20_LAU121_ITL321_ITL221_ITL121_UK_LU_v2.csv")
    itl = itl.drop_duplicates("LAD20CD").set_index("LAD20CD")
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, 2023)
    pred = {}
    for c in itl.index:
        pred.setdefault(to23(c), []).append(c)
    cs19 = pd.read_csv(src / "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv")
    staff19 = dict(zip(cs19["lad19cd"], cs19["total"], strict=True))
    rows = []
    for code in g["lad_code"]:
        cands = [code] if code in itl.index else sorted(pred.get(code, []),
                                                        key=lambda c: -staff19.get(c, 0))
        if not cands:
            raise SystemExit(f"no ITL codes for {code}")
        r = itl.loc[cands[0]]
        rows.append((r["ITL121CD"], r["ITL121NM"], r["ITL221CD"], r["ITL321CD"]))
    g[["itl1_code", "itl1_name", "itl2_code", "itl3_code"]] = pd.DataFrame(rows, index=g.index)
    g["country"] = g["lad_code"].str[0].map({"E": "England", "W": "Wales", "S": "Scotland",
                                             "N": "Northern Ireland"})
    g["is_london"] = g["itl1_code"] == "TLI"
    cols = ["lad_code", "lad_name", "country", "itl1_code", "itl1_name", "itl2_code",
            "itl3_code", "is_london", "centroid_lon", "centroid_lat", "geometry"]
    return g[cols].sort_values("lad_code").reset_index(drop=True)


def build_social_mobility(src: Path, districts) -> pd.DataFrame:
    ci = pd.read_csv(src / "smc/smc_composite_indices_son25.csv")
    lk = pd.read_csv(src / "smc/smc_area_to_lad.csv")
    out = lk[["lad23cd", "smc_area_name"]].rename(columns={"lad23cd": "lad_code"})
    for idx in ("ci1", "ci2", "ci3", "ci4"):
        sub = ci[ci["index"] == idx]
        latest = sorted(sub["time_period"].unique())[-1]
        sub = sub[sub["time_period"] == latest].set_index("area_name")
        out[f"{idx}_zscore"] = out["smc_area_name"].map(sub["zscore"])
        out[f"{idx}_category"] = out["smc_area_name"].map(sub["category"])
        out[f"{idx}_rank"] = out["smc_area_name"].map(sub["category_rank"]).astype("Int64")
        out[f"{idx}_period"] = latest
    assert set(out["lad_code"]) == set(districts["lad_code"])
    return out.sort_values("lad_code").reset_index(drop=True)


def build_labour_market(src: Path, districts) -> pd.DataFrame:
    occ = pd.read_csv(src / "smc/local_occupation_mix.csv")
    sub = occ[(occ["measure_code"] == "dr14") & occ["son_edition"].str.startswith("SON24")]
    piv = sub.pivot_table(index="area_code", columns="category", values="value", aggfunc="first")
    high = piv["Higher professional"] + piv["Lower professional"]
    inter = piv["Intermediate"]
    low = piv["Higher working"] + piv["Lower working"]
    tot = high + inter + low
    mix = pd.DataFrame({"high": high / tot, "intermediate": inter / tot, "low": low / tot})
    d = districts[["lad_code", "itl2_code"]].copy()
    m = mix.reindex(d["itl2_code"])
    if m.isna().any().any():
        missing = d.loc[m["high"].isna().to_numpy(), "itl2_code"].unique()
        raise SystemExit(f"no occupation mix for ITL2 {missing}")
    d[["high", "intermediate", "low"]] = m.round(6).to_numpy()
    d["low"] = (1 - d["high"] - d["intermediate"]).round(6)
    d["source"] = "SMC State of the Nation 2024, DR14 parental occupation (LFS/APS 2014-2022), ITL2"
    return d


def build_sites(src: Path, districts) -> pd.DataFrame:
    """Sites from the raw hub list, with ids, themes and capacities from SITE_META."""
    raw = pd.read_csv(src / "hubs/pfg_hub_locations_lad_centroids.csv")
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, DISTRICT_YEAR)
    rows, prev = [], ""
    for r in raw.itertuples(index=False):
        if r.site not in SITE_META:
            raise SystemExit(f"sites: no SITE_META entry for {r.site!r}")
        sid, name, theme, cap, extra = SITE_META[r.site]
        ev = prev if str(r.evidence).strip() == "as above" else str(r.evidence)
        prev = ev
        confirmed = "not confirmed" not in ev.lower()
        rows.append({"site_id": sid, "site_name": name, "lad_code": to23(r.lad21cd),
                     "theme": theme, "kind": r.kind, "capacity": cap, "confirmed": confirmed,
                     "evidence": "; ".join(x for x in (ev, extra) if x)})
    for sid, name, lad, theme, kind, cap, conf, ev in SITE_ADDITIONS:
        rows.append({"site_id": sid, "site_name": name, "lad_code": lad, "theme": theme,
                     "kind": kind, "capacity": cap, "confirmed": conf, "evidence": ev})
    out = pd.DataFrame(rows)
    missing = set(REQUIRED_SITES) - set(out["site_id"])
    if missing or out["site_id"].duplicated().any():
        raise SystemExit(f"sites: missing {sorted(missing)} or duplicate ids")
    cent = districts.set_index("lad_code")
    if not out["lad_code"].isin(cent.index).all():
        raise SystemExit("sites: unknown district code")
    out.insert(3, "lon", out["lad_code"].map(cent["centroid_lon"]))
    out.insert(4, "lat", out["lad_code"].map(cent["centroid_lat"]))
    out["capacity"] = out["capacity"].astype("Int64")
    return out


# --- ACSES tables ----------------------------------------------------------------------------

def _grade_column(year: int) -> str:
    return "Responsibility_level" if year == 2021 else "Responsibility_level_ungrouped"


def _grades_published(year: int) -> tuple[str, ...]:
    return tuple(GRADE_GROUPS_2021) if year == 2021 else (*GRADES8, "Unknown")


def acses_table(src: Path, year: int, name: str, dims: tuple[str, ...] = ()) -> pd.DataFrame:
    """One ACSES data-browser table, checked row by row (a fresh copy of a cached read).

    ``dims`` are the dimension columns wanted; ``"grade"`` stands for the year's grade column
    and is returned as ``grade`` (``SCS level`` -> ``SCS``). Adds ``status`` (in_post,
    leavers_cs, leavers_dept, entrants), ``hc`` (headcount, NaN where suppressed) and ``row``
    (line number in the file, header = 1). Raises BuildError naming the file and row of a
    missing column, an unknown status or grade, or a headcount that is not a count.
    """
    return _acses_table(src, year, name, tuple(dims)).copy()


@functools.cache
def _acses_table(src: Path, year: int, name: str, dims: tuple[str, ...]) -> pd.DataFrame:
    rel = f"civil-service/acses_{year}/{name}"
    f = src / rel
    if not f.is_file():
        raise BuildError(f"{rel}: missing file")
    try:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    except Exception as e:  # noqa: BLE001 - any reader failure names the file
        raise BuildError(f"{rel}: cannot read: {e}") from e
    cols = ["Status", "Headcount", *[_grade_column(year) if d == "grade" else d for d in dims]]
    for c in cols:
        if c not in df.columns:
            raise BuildError(f"{rel}: missing column {c!r}")
    df["row"] = np.arange(len(df)) + 2
    df["status"] = df["Status"].map(STATUSES)
    for i in np.flatnonzero(df["status"].isna().to_numpy()):
        raise BuildError(f"{rel}: row {df['row'].iat[i]}: column 'Status': unknown status "
                         f"{df['Status'].iat[i]!r}")
    raw = df["Headcount"].str.strip()
    hc = pd.to_numeric(raw, errors="coerce")
    flagged = df.get("Headcount_c", pd.Series("0", index=df.index)).str.strip() == "1"
    bad = (hc.isna() & ~((raw == "") & flagged)) | (hc < 0) | ~np.isfinite(hc.fillna(0))
    for i in np.flatnonzero(bad.to_numpy()):
        raise BuildError(f"{rel}: row {df['row'].iat[i]}: column 'Headcount': not a count "
                         f"(and not flagged suppressed): {df['Headcount'].iat[i]!r}")
    df["hc"] = hc.astype(float)
    if "grade" in dims:
        g = df[_grade_column(year)].str.strip().replace({"SCS level": "SCS"})
        for i in np.flatnonzero(~g.isin(_grades_published(year)).to_numpy()):
            raise BuildError(f"{rel}: row {df['row'].iat[i]}: column {_grade_column(year)!r}: "
                             f"unknown grade {g.iat[i]!r}")
        df["grade"] = g
    return df


def itl_names(src: Path, level: str) -> dict[str, str]:
    """ACSES region name -> ITL 2021 code (``acses_itl_name_to_code.csv`` plus, for ITL3, the
    19 NUTS-2018-era names of ACSES 2021, :data:`ITL3_NUTS2018_NAMES`)."""
    names = pd.read_csv(src / "civil-service/acses_itl_name_to_code.csv")
    sel = (names["level"] == level) & names["itl21cd"].notna()
    out = dict(zip(names.loc[sel, "acses_name"], names.loc[sel, "itl21cd"], strict=True))
    if level == "ITL3":
        out.update(ITL3_NUTS2018_NAMES)
    return out


def place(df: pd.DataFrame, column: str, codes: dict[str, str], rel: str) -> pd.Series:
    """Code of each row's region; "Overseas"/"Unknown" kept as they are; any other name that
    has no code is an error naming the file and the row."""
    name = df[column].str.strip()
    out = name.map(codes)
    out = out.where(out.notna(), name.where(name.isin(NOT_PLACED)))
    for i in np.flatnonzero(out.isna().to_numpy()):
        raise BuildError(f"{rel}: row {df['row'].iat[i]}: column {column!r}: region "
                         f"{name.iat[i]!r} cannot be placed (no ITL 2021 code)")
    return out


def _fill_suppressed(df: pd.DataFrame, year: int) -> pd.Series:
    return df["hc"].fillna(SUPPRESSED_CELL[year])


def split_ratios(src: Path) -> pd.DataFrame:
    """ACSES 2022 within-group grade ratios by ITL1 (codes, plus Overseas/Unknown), in post."""
    t = acses_table(src, 2022, "headcount_grade_by_itl1.csv", ("grade", "Region_ITL1"))
    t = t[t["status"] == "in_post"]
    t["region"] = place(t, "Region_ITL1", itl_names(src, "ITL1"),
                        "civil-service/acses_2022/headcount_grade_by_itl1.csv")
    t["hc"] = _fill_suppressed(t, 2022)
    piv = t.pivot_table(index="region", columns="grade", values="hc", aggfunc="sum").fillna(0)
    ratios = pd.DataFrame(index=piv.index)
    for members in GRADE_GROUPS_2021.values():
        tot = piv[list(members)].sum(axis=1)
        for g in members:
            ratios[g] = piv[g] / tot
    return ratios


def split_groups(t: pd.DataFrame, region: pd.Series, ratios: pd.DataFrame) -> pd.DataFrame:
    """Rows of a 2021 grouped-grade table -> one row per ACSES grade, ``hc`` split by the
    2022 ratios of the row's ITL1 (``region``: ITL1 code or Overseas/Unknown)."""
    parts = []
    for group, members in GRADE_GROUPS_2021.items():
        sel = t["grade"] == group
        for g in members:
            part = t[sel].copy()
            part["grade"] = g
            part["hc"] = part["hc"] * ratios[g].reindex(region[sel]).to_numpy()
            parts.append(part)
    return pd.concat(parts).sort_index(kind="stable")


def grade_by_itl3(src: Path, year: int) -> pd.DataFrame:
    """In-post headcount by ITL3 region (code or Overseas/Unknown) x ACSES grade (+Unknown),
    columns ``Region_ITL3``, ``itl3``, ``grade``, ``hc`` (suppressed cells estimated)."""
    rel = f"civil-service/acses_{year}/headcount_grade_by_itl3.csv"
    t = acses_table(src, year, "headcount_grade_by_itl3.csv", ("grade", "Region_ITL3"))
    t = t[t["status"] == "in_post"].copy()
    t["itl3"] = place(t, "Region_ITL3", itl_names(src, "ITL3"), rel)
    t["hc"] = _fill_suppressed(t, year)
    if year == 2021:
        _check_nuts2018_names(src, year)
        t = split_groups(t, t["itl3"].where(t["itl3"].isin(NOT_PLACED), t["itl3"].str[:3]),
                         split_ratios(src))
    return t[["Region_ITL3", "itl3", "grade", "hc"]]


def _check_nuts2018_names(src: Path, year: int) -> None:
    """Each NUTS-2018-era name sits in the ITL2 of the code it is given (ACSES hierarchy)."""
    rel = f"civil-service/acses_{year}/itl1_itl2_itl3_headcount.csv"
    h = acses_table(src, year, "itl1_itl2_itl3_headcount.csv", ("Region_ITL2", "Region_ITL3"))
    itl2 = itl_names(src, "ITL2")
    for r in h[h["Region_ITL3"].isin(ITL3_NUTS2018_NAMES)].itertuples():
        code = ITL3_NUTS2018_NAMES[r.Region_ITL3]
        if itl2.get(r.Region_ITL2) != code[:4]:
            raise BuildError(f"{rel}: row {r.row}: ITL3 {r.Region_ITL3!r} is in ITL2 "
                             f"{r.Region_ITL2!r}, not in {code[:4]} of its code {code}")


def grade_by_itl1(src: Path, year: int) -> pd.DataFrame:
    """In-post headcount by ITL1 (code or Overseas/Unknown) x grade as published (2021
    grouped), suppressed cells left NaN; columns ``region``, ``grade``, ``hc``."""
    rel = f"civil-service/acses_{year}/headcount_grade_by_itl1.csv"
    t = acses_table(src, year, "headcount_grade_by_itl1.csv", ("grade", "Region_ITL1"))
    t = t[t["status"] == "in_post"].copy()
    t["region"] = place(t, "Region_ITL1", itl_names(src, "ITL1"), rel)
    return t[["region", "grade", "hc", "row"]]


def london_split(src: Path, year: int) -> pd.DataFrame:
    """In-post headcount by ACSES grade (8) x London / Outside London (UK-based only).

    2022/2023: the published ``grade_by_london.csv``. 2021 has no London table: London is
    ITL1 London, Outside London the other UK ITL1 regions, each split into grades by its own
    2022 ratios (:func:`split_ratios`).
    """
    if year == 2021:
        t = grade_by_itl1(src, year)
        t = t[~t["region"].isin(NOT_PLACED)].copy()
        t["hc"] = _fill_suppressed(t, year)
        t = split_groups(t, t["region"], split_ratios(src))
        t["place"] = np.where(t["region"] == "TLI", "London", "Outside London")
    else:
        t = acses_table(src, year, "grade_by_london.csv", ("grade", "Region_london"))
        t = t[t["status"] == "in_post"].copy()
        t["place"] = t["Region_london"].str.strip()
        t = t[t["place"].isin(["London", "Outside London"])]
    piv = t.pivot_table(index="grade", columns="place", values="hc", aggfunc="sum")
    return piv.reindex(list(GRADES8))[["London", "Outside London"]]


def policy_share(src: Path, year: int) -> pd.Series:
    """Policy-profession share of posts by (ACSES grade, "London"/"Outside London")."""
    if year == 2021:
        rel = "civil-service/acses_2021/profession_grade_by_itl1.csv"
        pg = acses_table(src, year, "profession_grade_by_itl1.csv",
                         ("grade", "Region_ITL1", "Profession_of_post"))
        pg = pg[pg["status"] == "in_post"].copy()
        pg["region"] = place(pg, "Region_ITL1", itl_names(src, "ITL1"), rel)
        pg = pg[~pg["region"].isin(NOT_PLACED)]
        pg["Region_london"] = np.where(pg["region"] == "TLI", "London", "Outside London")
        rows = []
        for group, members in GRADE_GROUPS_2021.items():
            for g in members:
                rows.append(pg[pg["grade"] == group].assign(grade=g))
        pg = pd.concat(rows)
    else:
        pg = acses_table(src, year, "profession_grade_by_london.csv",
                         ("grade", "Region_london", "Profession_of_post"))
        pg = pg[pg["status"] == "in_post"]
    tot = pg.groupby(["grade", "Region_london"])["hc"].sum()
    pol = pg[pg["Profession_of_post"] == "Policy"].groupby(["grade", "Region_london"])[
        "hc"].sum()
    return (pol / tot).fillna(0)


def scs_band_totals(src: Path, year: int) -> dict[str, int]:
    """SCS pay-band headcounts: PQ 2438 for 2023; other years scaled (ASSUMPTION)."""
    if year == SCS_BAND_YEAR:
        return dict(SCS_BAND_TOTALS)
    scs = published_grades(src, year).loc[("in_post", "SCS")]
    return {k: int(round(v * scs / SCS_LEVEL_2023)) for k, v in SCS_BAND_TOTALS.items()}


def published_grades(src: Path, year: int) -> pd.Series:
    """``staff_by_grade.csv`` headcount by (status, grade as published)."""
    t = acses_table(src, year, "staff_by_grade.csv", ("grade",))
    if t["hc"].isna().any():
        i = int(np.flatnonzero(t["hc"].isna().to_numpy())[0])
        raise BuildError(f"civil-service/acses_{year}/staff_by_grade.csv: row "
                         f"{t['row'].iat[i]}: column 'Headcount': suppressed national figure")
    # every status the table has must give every grade published that year (a row cut from
    # the file gave a KeyError traceback where the figure was read)
    have = set(zip(t["status"], t["grade"], strict=True))
    for status in dict.fromkeys(t["status"]):
        for g in _grades_published(year):
            if (status, g) not in have:
                raise BuildError(f"civil-service/acses_{year}/staff_by_grade.csv: no row for "
                                 f"grade {g!r} ({status.replace('_', ' ')}): every published "
                                 "grade needs one")
    return t.set_index(["status", "grade"])["hc"]


def build_baseline(src: Path, year: int, districts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """District x grade headcount fitted to ACSES of ``year`` (see README: method)."""
    t = grade_by_itl3(src, year)
    uk = t[~t["itl3"].isin(NOT_PLACED)]
    mat = uk.pivot_table(index="itl3", columns="grade", values="hc", aggfunc="sum").fillna(0)
    unknown_region = t[t["Region_ITL3"] == "Unknown"].groupby("grade")["hc"].sum()
    known = mat[list(GRADES8)]
    # unknown grade -> grades in proportion to the area's known-grade mix
    unk_grade = mat.get("Unknown", pd.Series(0, index=mat.index))
    known = known + known.div(known.sum(axis=1), axis=0).mul(unk_grade, axis=0)
    # unknown region -> areas in proportion to each grade's distribution
    ur_known = unknown_region.reindex(list(GRADES8)).fillna(0)
    ur_unknown_grade = unknown_region.get("Unknown", 0.0)
    ur = ur_known + ur_known / ur_known.sum() * ur_unknown_grade
    known = known + known.div(known.sum(axis=0), axis=1).mul(ur, axis=1)
    # London share by grade (of UK-based)
    piv = london_split(src, year)
    london_share = (piv["London"] / (piv["London"] + piv["Outside London"])).reindex(
        list(GRADES8))
    itl3_london = np.asarray(known.index.str.startswith("TLI"))
    grade_tot = known.sum(axis=0)
    area_tot = known.sum(axis=1)
    m = known.to_numpy(float).copy()
    for _ in range(IPF_ITERATIONS):  # IPF: London/outside x grade margins, then area totals
        lon_t = (london_share * grade_tot).to_numpy()
        out_t = ((1 - london_share) * grade_tot).to_numpy()
        m[itl3_london] *= lon_t / m[itl3_london].sum(axis=0)
        m[~itl3_london] *= out_t / m[~itl3_london].sum(axis=0)
        m *= (area_tot.to_numpy() / m.sum(axis=1))[:, None]
    fitted = pd.DataFrame(m, index=known.index, columns=list(GRADES8))

    # split each ITL3 x grade over its districts by the 2019 postcode-level pattern
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, DISTRICT_YEAR)
    cs19 = pd.read_csv(src / "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv")
    cs19["lad_code"] = cs19["lad19cd"].map(to23)
    cs19 = cs19.groupby("lad_code")[["aa_ao", "eo", "heo_seo", "g6_g7", "scs", "total"]].sum()
    d = districts.set_index("lad_code")
    rows = []
    for itl3, row in fitted.iterrows():
        lads = d.index[d["itl3_code"] == itl3]
        if len(lads) == 0:
            # ITL3 areas recoded after 2021 (e.g. county unitaries): match by prefix
            lads = d.index[d["itl3_code"].str[:4] == itl3[:4]]
        if len(lads) == 0:
            raise BuildError(f"ITL3 {itl3}: no district of {DISTRICT_YEAR} in it or its ITL2")
        seed19 = cs19.reindex(lads).fillna(0)
        for g in GRADES8:
            w = (seed19[GROUP_2019[g]].to_numpy(float)
                 + SEED_FLOOR_SHARE * seed19["total"].to_numpy(float) + SEED_FLOOR_CONST)
            for lad, v in zip(lads, row[g] * w / w.sum(), strict=True):
                rows.append((lad, g, v))
    long = pd.DataFrame(rows, columns=["lad_code", "grade", "hc"])
    long = long.groupby(["lad_code", "grade"], as_index=False)["hc"].sum()
    # integerise per grade, keeping each grade's total
    long["posts"] = 0
    for g in GRADES8:
        sel = long["grade"] == g
        long.loc[sel, "posts"] = largest_remainder(long.loc[sel, "hc"].to_numpy())
    return long[["lad_code", "grade", "posts"]], fitted


def split_scs_profession_role(base: pd.DataFrame, districts, share: pd.Series,
                              band_totals: dict[str, int]) -> pd.DataFrame:
    """SCS bands, policy profession and private office (ASSUMPTIONS, see README)."""
    london = set(districts.loc[districts["is_london"], "lad_code"])
    b = base.copy()
    b["london"] = b["lad_code"].isin(london)
    # SCS bands
    scs = b[b["grade"] == "SCS"].set_index("lad_code")["posts"].astype(float)
    scs_lon = scs[scs.index.isin(london)]
    scs_out = scs[~scs.index.isin(london)]
    bands = {}
    remaining = scs.copy()
    for band in ("PS", "SCS3", "SCS2"):
        total = band_totals[band]
        if band == "PS":
            out_alloc = pd.Series(PS_OUTSIDE_LONDON, dtype=float)
            n_lon = total - int(out_alloc.sum())
            lon_alloc = pd.Series(largest_remainder(scs_lon.to_numpy() / scs_lon.sum() * n_lon),
                                  index=scs_lon.index, dtype=float)
            alloc = pd.concat([lon_alloc, out_alloc]).groupby(level=0).sum()
        else:
            n_lon = int(round(total * SCS_BAND_LONDON_SHARE[band]))
            n_out = total - n_lon
            lon_alloc = pd.Series(largest_remainder(scs_lon.to_numpy() / scs_lon.sum() * n_lon),
                                  index=scs_lon.index, dtype=float)
            out_alloc = pd.Series(largest_remainder(scs_out.to_numpy() / scs_out.sum() * n_out),
                                  index=scs_out.index, dtype=float)
            alloc = pd.concat([lon_alloc, out_alloc])
        alloc = alloc.reindex(remaining.index).fillna(0).clip(upper=remaining)
        bands[band] = alloc
        remaining = remaining - alloc
    bands["SCS1"] = remaining
    scs_rows = [pd.DataFrame({"lad_code": v.index, "grade": k, "posts": v.to_numpy()})
                for k, v in bands.items()]
    b = pd.concat([b[b["grade"] != "SCS"][["lad_code", "grade", "posts"]], *scs_rows],
                  ignore_index=True)
    b = b[b["posts"] > 0]
    # policy profession by grade and London/elsewhere (ACSES of the year)
    b["acses"] = b["grade"].where(~b["grade"].isin(["SCS1", "SCS2", "SCS3", "PS"]), "SCS")
    b["place"] = np.where(b["lad_code"].isin(london), "London", "Outside London")
    s = [share.get((a, p), 0.0) for a, p in zip(b["acses"], b["place"], strict=True)]
    b["policy"] = np.floor(b["posts"] * np.array(s) + 0.5).astype(int)
    b["other"] = b["posts"] - b["policy"]
    # private office (ASSUMPTION), taken from policy posts
    b["po"] = 0
    for g, n in PRIVATE_OFFICE_POSTS.items():
        n_lon = int(round(n * PRIVATE_OFFICE_LONDON_SHARE))
        sel = (b["grade"] == g) & (b["place"] == "London")
        w = b.loc[sel, "policy"].to_numpy(float)
        b.loc[sel, "po"] = np.minimum(largest_remainder(w / w.sum() * n_lon), b.loc[sel, "policy"])
        rest = n - n_lon
        for j, lad in enumerate(PRIVATE_OFFICE_OUTSIDE):
            k = rest // len(PRIVATE_OFFICE_OUTSIDE) + (j < rest % len(PRIVATE_OFFICE_OUTSIDE))
            sel = (b["grade"] == g) & (b["lad_code"] == lad)
            if sel.any():
                i = b.index[sel][0]
                b.loc[i, "po"] = min(k, int(b.loc[i, "policy"]))
    b["policy"] -= b["po"]
    rows = []
    for prof, role, col in (("policy", "standard", "policy"), ("other", "standard", "other"),
                            ("policy", "private_office", "po")):
        part = b[["lad_code", "grade"]].copy()
        part["profession"], part["role"], part["posts"] = prof, role, b[col].astype(int)
        rows.append(part[part["posts"] > 0])
    out = pd.concat(rows, ignore_index=True)
    order = {g: i for i, g in enumerate(GRADES11)}
    out = out.sort_values(["lad_code", "grade", "profession", "role"],
                          key=lambda c: c.map(order) if c.name == "grade" else c)
    return out.reset_index(drop=True)



# --- Departments -------------------------------------------------------------------------------

def _dept_codes() -> dict[str, str]:
    """ACSES parent-department name (any year) -> code (:data:`DEPARTMENTS`)."""
    return {n: code for code, names, _, _ in DEPARTMENTS for n in names}


def dept_table(src: Path, year: int, name: str, dims: tuple[str, ...]) -> pd.DataFrame:
    """An ACSES parent-department table of ``year``, in post.

    Adds ``department`` (code), ``region`` (ITL1 or ITL3 code, ``London``, ``Outside
    London``, ``Overseas`` or ``Unknown``), ``suppressed`` and ``hc`` with suppressed cells
    estimated (:data:`SUPPRESSED_CELL`). A name or region that cannot be placed is an error
    naming the file and row.
    """
    rel = f"civil-service/acses_{year}/{name}"
    t = acses_table(src, year, name, ("Parent_department", *dims))
    t = t[t["status"] == "in_post"].copy()
    dept = t["Parent_department"].str.strip()
    t["department"] = dept.map(_dept_codes())
    for i in np.flatnonzero(t["department"].isna().to_numpy()):
        raise BuildError(f"{rel}: row {t['row'].iat[i]}: column 'Parent_department': unknown "
                         f"department {dept.iat[i]!r} (not in DEPARTMENTS)")
    if "Region_london" in dims:
        t["region"] = t["Region_london"].str.strip()
        for i in np.flatnonzero(~t["region"].isin(["London", "Outside London", *NOT_PLACED])):
            raise BuildError(f"{rel}: row {t['row'].iat[i]}: column 'Region_london': unknown "
                             f"place {t['region'].iat[i]!r}")
    else:
        col = next(c for c in dims if c.startswith("Region_ITL"))
        t["region"] = place(t, col, itl_names(src, col[-4:]), rel)
    t["suppressed"] = t["hc"].isna()
    t["hc"] = _fill_suppressed(t, year)
    return t


def dept_units(year: int) -> dict[str, str]:
    """Model grade (AA ... PS) -> the grade ACSES publishes by department in ``year`` (SCS
    bands -> ``SCS``; 2021: the grade groups)."""
    acses = {**{g: g for g in GRADES8}, **{g: "SCS" for g in GRADES11 if g not in GRADES8}}
    if year != 2021:
        return acses
    group = {m: grp for grp, members in GRADE_GROUPS_2021.items() for m in members}
    return {g: group[a] for g, a in acses.items()}


def _by_unit(t: pd.DataFrame, keys: list[str], units: list[str],
             fallback: pd.DataFrame) -> pd.DataFrame:
    """Pivot ``hc`` to ``keys`` x ``units``; a row's Unknown-grade staff are spread over its
    known grades in proportion (or, if it has none, by ``fallback``, indexed by the last key)."""
    piv = t.pivot_table(index=keys, columns="grade", values="hc", aggfunc="sum", fill_value=0.0)
    known = piv.reindex(columns=units, fill_value=0.0)
    unknown = piv["Unknown"] if "Unknown" in piv.columns else 0.0
    share = known.div(known.sum(axis=1), axis=0)
    fb = fallback.div(fallback.sum(axis=1), axis=0)
    empty = known.sum(axis=1) == 0
    if empty.any():
        share.loc[empty] = fb.reindex(known.index[empty].get_level_values(-1)).to_numpy()
    return known + share.mul(unknown, axis=0)


def ipf(m: np.ndarray, margins: list[tuple[tuple[int, ...], np.ndarray]], sweeps: int,
        finish: int = 0, strict: bool = True) -> np.ndarray:
    """Iterative proportional fitting of array ``m`` (in place) to ``margins``.

    Each margin is (axes summed over, target of the remaining axes). ``sweeps`` passes over
    every margin, then passes over the last ``finish`` margins (which must be mutually
    consistent) until their largest error is below :data:`DEPT_IPF_TOLERANCE` posts (an
    error if they do not get there in 100,000 passes, unless not ``strict``: 2,000 passes,
    then the fit so far).
    """
    targets = [(axes, np.expand_dims(np.asarray(t, float), axes)) for axes, t in margins]

    def fit(axes, t):
        s = m.sum(axis=axes, keepdims=True)
        s[s == 0] = np.inf  # an empty row stays empty
        m[...] *= t / s

    for _ in range(sweeps):
        for axes, t in targets:
            fit(axes, t)
    last = targets[len(targets) - finish:]
    for k in range((100_000 if strict else 2_000) if finish else 0):
        for axes, t in last:
            fit(axes, t)
        if k % 10 == 0 and max(np.abs(m.sum(axis=a, keepdims=True) - t).max()
                               for a, t in last) < DEPT_IPF_TOLERANCE:
            break
    else:
        if finish and strict:
            raise BuildError("department fit: margins did not converge")
    return m


def controlled_round(blocks: list[tuple]) -> list[np.ndarray]:
    """The integer tables nearest to non-negative matrices with given integer totals.

    ``blocks`` is a list of (matrix, row totals, column totals[, caps]). Each result keeps
    the totals exactly, has no entry where the matrix has none and none above its cap, and
    minimises the sum of absolute changes. When the matrix already has the totals (to
    :data:`DEPT_IPF_TOLERANCE`) that is a controlled rounding: every entry becomes its floor
    or ceiling, the largest fractions rounded up (one always exists for a two-way table,
    Bacharach 1966); otherwise whole units also move, at a cost of one each. All blocks are
    solved at once as a transportation problem (a linear programme whose constraint matrix
    is totally unimodular, so its vertex solution is integral). Deterministic.
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    outs, ents, need_r, need_c = [], [], [], []
    n_rows = n_cols = 0
    for blk in blocks:
        x, row_total, col_total = blk[:3]
        cap = np.asarray(blk[3]) if len(blk) > 3 else np.full(x.shape, np.inf)
        base = np.minimum(np.floor(x + 1e-9), cap)
        ri, ci = np.nonzero(x > 1e-12)
        frac = np.clip((x - base)[ri, ci], 0.0, 1.0)
        room = np.minimum(cap[ri, ci] - base[ri, ci], row_total[ri] if len(ri) else 0)
        ents.append((n_rows + ri, n_cols + ci, frac, base[ri, ci], room))
        need_r.append(np.rint(np.asarray(row_total, float) - base.sum(axis=1)))
        need_c.append(np.rint(np.asarray(col_total, float) - base.sum(axis=0)))
        outs.append((base.astype(np.int64), ri, ci))
        n_rows, n_cols = n_rows + x.shape[0], n_cols + x.shape[1]
    ri, ci, frac, low, room = (np.concatenate(v) for v in zip(*ents, strict=True))
    b_eq = np.concatenate([*need_r, *need_c])
    if not b_eq.any():
        return [o for o, _, _ in outs]
    n = len(ri)
    for moves in (False, True):  # rounding only; then whole units too
        # variables: one unit up (cost 1 - 2 frac), further units up, units down (cost 1)
        sign = np.array([1.0, 1.0, -1.0] if moves else [1.0])
        cost = np.concatenate([1 - 2 * frac, np.ones(n), np.ones(n)] if moves else [-frac])
        upper = np.concatenate([np.minimum(1.0, room), np.maximum(room - 1, 0), low]
                               if moves else [np.where(frac > 1e-9, np.minimum(1.0, room), 0)])
        k = len(sign)
        cols_ = np.arange(k * n)
        a_eq = csr_matrix((np.concatenate([np.repeat(sign, n)] * 2),
                           (np.concatenate([np.tile(ri, k), n_rows + np.tile(ci, k)]),
                            np.concatenate([cols_, cols_]))), shape=(n_rows + n_cols, k * n))
        res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=np.c_[np.zeros(k * n), upper],
                      method="highs-ds")
        if res.status == 0:
            break
    else:
        raise BuildError("department fit: no integer table has the totals")
    got = np.rint(res.x).astype(np.int64)
    if np.abs(res.x - got).max() > 1e-6:
        raise BuildError("department fit: the rounding is not integral")
    delta = (got.reshape(k, n) * sign[:, None]).sum(axis=0).astype(np.int64)
    result, at = [], 0
    for base, bri, bci in outs:
        base[bri, bci] += delta[at:at + len(bri)]
        at += len(bri)
        result.append(base)
    return result


def _org_2019(src: Path) -> pd.DataFrame:
    """2019 staff in post by (LAD 2023, department code) x 2019 grade group (and total)."""
    f = src / ORG_2019
    if not f.is_file():
        raise BuildError(f"{ORG_2019}: missing file")
    o = pd.read_csv(f)
    dept = o["organisation"].map(ORG_2019_DEPARTMENT)
    for i in np.flatnonzero(dept.isna().to_numpy()):
        raise BuildError(f"{ORG_2019}: row {i + 2}: organisation {o['organisation'].iat[i]!r} "
                         "has no parent department (ORG_2019_DEPARTMENT)")
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    o["lad_code"] = o["lad19cd"].map(code_map(changes, DISTRICT_YEAR))
    o["department"] = dept
    o["headcount"] = o["headcount"].astype(float)
    o["group"] = o["grade"].map({"AO/AA": "aa_ao", "EO": "eo", "SEO/HEO": "heo_seo",
                                 "Grades 6/7": "g6_g7", "SCS equivalent": "scs",
                                 "Total (all staff)": "total"})
    return o.pivot_table(index=["lad_code", "department"], columns="group", values="headcount",
                         aggfunc="sum", fill_value=0.0)


def split_departments(baseline: pd.DataFrame, districts, src: Path, year: int) -> pd.DataFrame:
    """Split every baseline cell over parent departments (README, Methods, "Departments").

    Three fits, each rounded to integers that keep its totals (:func:`controlled_round`):
    department x ITL1 x grade (:func:`_dept_itl1`), department x ITL3 x grade within each
    ITL1 (:func:`_dept_itl3`), and department x cell within each ITL3 x grade
    (:func:`_dept_cells`). Every cell keeps its posts exactly. Returns the baseline with a
    ``department`` column (code), one row per cell and department with posts.
    """
    unit_of = dept_units(year)
    units = list(dict.fromkeys(unit_of.values()))
    dist = districts.set_index("lad_code")
    b = baseline.copy()
    b["itl3"] = b["lad_code"].map(dist["itl3_code"])
    b["unit"] = b["grade"].map(unit_of)
    t3 = b.pivot_table(index="itl3", columns="unit", values="posts", aggfunc="sum",
                       fill_value=0).reindex(columns=units, fill_value=0)
    t1 = t3.groupby(t3.index.str[:3]).sum()
    d1 = dept_table(src, year, "parent_dept_by_itl1.csv", ("Region_ITL1",))
    depts = sorted(set(d1.loc[~d1["region"].isin(NOT_PLACED), "department"]))
    r_tot, y_int = _dept_itl1(src, year, depts, t1)
    z_int = _dept_itl3(src, year, depts, t3, r_tot, y_int)
    out = _dept_cells(src, b, depts, list(dist.index), z_int)
    order = {g: k for k, g in enumerate(GRADES11)}
    out = out.sort_values(["lad_code", "grade", "profession", "role", "department"],
                          key=lambda c: c.map(order) if c.name == "grade" else c)
    out = out.reset_index(drop=True)
    keys = ["lad_code", "grade", "profession", "role"]
    back = out.groupby(keys)["posts"].sum()
    if not back.equals(baseline.groupby(keys)["posts"].sum().astype(back.dtype)):
        raise BuildError("department split does not sum back to the baseline cells")
    return out


def _dept_itl1(src: Path, year: int, depts: list[str], t1: pd.DataFrame
               ) -> tuple[np.ndarray, np.ndarray]:
    """Posts by department x ITL1 (``r_tot``) and department x ITL1 x grade (``y_int``).

    ``r_tot``: ACSES department x ITL1, scaled to the baseline's ITL1 totals ``t1`` (ITL1 x
    grade), largest remainder within each region. SCS first: each department's London and
    outside-London SCS as published (2021: ITL1 London and the rest), scaled to the
    baseline's, outside London spread over regions by department x SCS x ITL1. Other grades:
    IPF of department x grade x ITL1 to the London/outside-London table, ``t1`` and what
    ``r_tot`` leaves after SCS.
    """
    units, regions = list(t1.columns), list(t1.index)
    tgrid = t1.to_numpy(float)
    d1 = dept_table(src, year, "parent_dept_by_itl1.csv", ("Region_ITL1",))
    dpiv = d1.pivot_table(index="department", columns="region", values="hc", aggfunc="sum",
                          fill_value=0.0).reindex(index=depts, columns=regions, fill_value=0.0)
    r_tot = np.zeros((len(depts), len(regions)), np.int64)
    for j in range(len(regions)):
        x = dpiv.iloc[:, j].to_numpy(float)
        r_tot[:, j] = largest_remainder(x * tgrid[j].sum() / x.sum(), int(tgrid[j].sum()))
    g1 = dept_table(src, year, "parent_dept_grade_by_itl1.csv", ("grade", "Region_ITL1"))
    g1 = g1[~g1["region"].isin(NOT_PLACED)]
    seed = _by_unit(g1, ["department", "region"], units, t1)
    y = np.stack([seed.reindex(pd.MultiIndex.from_product([depts, [r]]), fill_value=0.0)
                  .to_numpy() for r in regions], axis=1)  # (dept, ITL1, grade)
    # a small independence floor keeps the fit feasible where the tables disagree
    y += 1e-6 * r_tot[:, :, None] * (tgrid / tgrid.sum(axis=1, keepdims=True))[None]
    lon = np.array([r == "TLI" for r in regions])
    if year == 2021:
        gl = g1.assign(region=np.where(g1["region"] == "TLI", "London", "Outside London"))
    else:
        gl = dept_table(src, year, "parent_dept_grade_by_london.csv", ("grade", "Region_london"))
        gl = gl[gl["region"].isin(["London", "Outside London"])]
    tl = pd.DataFrame([t1[lon].sum(), t1[~lon].sum()], index=["London", "Outside London"])
    c = _by_unit(gl, ["department", "region"], units, tl)
    # SCS by department, London and outside London as published, scaled to the baseline's
    k = units.index("SCS")
    scs = gl[gl["grade"] == "SCS"].pivot_table(index="department", columns="region",
                                                values="hc", aggfunc="sum", fill_value=0.0)
    scs = scs.reindex(index=depts, columns=["London", "Outside London"], fill_value=0.0)
    y_scs = np.zeros_like(r_tot)
    for place_, mask in (("London", lon), ("Outside London", ~lon)):
        x, total = scs[place_].to_numpy(float), int(tgrid[mask, k].sum())
        dept_total = largest_remainder(x * total / x.sum(), total)
        cap = r_tot[:, mask]
        w = np.where(cap > 0, y[:, mask, k], 0.0)
        ipf(w, [((1,), dept_total), ((0,), tgrid[mask, k])], 0, finish=2, strict=False)
        y_scs[:, mask] = controlled_round([(w, dept_total, tgrid[mask, k], cap)])[0]
    # other grades
    rest = [u for u in units if u != "SCS"]
    ky = [units.index(u) for u in rest]
    yr = np.ascontiguousarray(y[:, :, ky])
    target = [(mask, np.ascontiguousarray(
        c.xs(place_, level="region").reindex(depts, fill_value=0.0)[rest].to_numpy(float)))
        for place_, mask in (("London", lon), ("Outside London", ~lon))]
    for mask, ck in target:
        ck += 1e-6 * ck.sum(axis=1, keepdims=True)
        ck *= tgrid[mask][:, ky].sum(axis=0) / ck.sum(axis=0).clip(min=1e-12)
    left = (r_tot - y_scs).astype(float)
    for _ in range(DEPT_IPF_SWEEPS):
        for mask, ck in target:
            sm = yr[:, mask, :].sum(axis=1)
            yr[:, mask, :] *= np.divide(ck, sm, out=np.zeros_like(sm), where=sm > 0)[:, None, :]
        ipf(yr, [((0,), tgrid[:, ky]), ((2,), left)], 1)
    ipf(yr, [((0,), tgrid[:, ky]), ((2,), left)], 0, finish=2)
    y_int = np.zeros(y.shape, np.int64)
    y_int[:, :, k] = y_scs
    y_int[:, :, ky] = np.stack(controlled_round(
        [(yr[:, j, :], r_tot[:, j] - y_scs[:, j], tgrid[j, ky]) for j in range(len(regions))]),
        axis=1)
    return r_tot, y_int


def _dept_itl3(src: Path, year: int, depts: list[str], t3: pd.DataFrame, r_tot: np.ndarray,
               y_int: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """Posts by department of each ITL3 x grade: IPF within each ITL1 of the department's
    grade mix there (``y_int``) x its ACSES department x ITL3 distribution, to the baseline's
    ITL3 x grade (``t3``) and ``y_int``; keyed (ITL3, grade) -> posts by department."""
    units, itl3s = list(t3.columns), list(t3.index)
    regions = sorted(set(t3.index.str[:3]))
    a3 = dept_table(src, year, "parent_dept_by_itl3.csv", ("Region_ITL3",))
    a3 = a3[~a3["region"].isin(NOT_PLACED)]
    apiv = a3.pivot_table(index="department", columns="region", values="hc", aggfunc="sum",
                          fill_value=0.0).reindex(index=depts, columns=itl3s, fill_value=0.0)
    blocks, keys = [], []
    for j, r in enumerate(regions):
        sub = [i for i in itl3s if i[:3] == r]
        t3r = t3.loc[sub].to_numpy(float)  # (ITL3, grade)
        area = t3r.sum(axis=1) / t3r.sum()
        a = apiv[sub].to_numpy(float)
        a = np.where(a.sum(axis=1, keepdims=True) > 0, a, area[None])
        a = a / a.sum(axis=1, keepdims=True) + 1e-6 * area[None]  # floor: the fit converges
        a *= (r_tot[:, j] / a.sum(axis=1))[:, None]
        yr = y_int[:, j, :].astype(float)
        share = np.divide(yr, r_tot[:, j, None], out=np.zeros_like(yr),
                          where=r_tot[:, j, None] > 0)
        z = a[:, :, None] * share[:, None, :] + 1e-6 * area[None, :, None] * yr[:, None, :]
        ipf(z, [((2,), a), ((0,), t3r), ((1,), yr)], DEPT_IPF_SWEEPS)
        ipf(z, [((0,), t3r), ((1,), yr)], 0, finish=2)
        for k, u in enumerate(units):  # (ITL3, dept) of each grade
            blocks.append((z[:, :, k].T, t3r[:, k], y_int[:, j, k]))
            keys.append([(i, u) for i in sub])
    return {key: row for ks, zi in zip(keys, controlled_round(blocks), strict=True)
            for key, row in zip(ks, zi, strict=True)}


def _dept_cells(src: Path, b: pd.DataFrame, depts: list[str], lads: list[str],
                z_int: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Each ITL3 x grade's posts by department (``z_int``) over its cells (rows of ``b``),
    by the 2019 organisation pattern of the cells' districts (+ the 2019 seed floor)."""
    org = _org_2019(src)
    groups = ["aa_ao", "eo", "heo_seo", "g6_g7", "scs", "total"]
    seed = (org.reindex(pd.MultiIndex.from_product([lads, depts]), fill_value=0.0)
            .reindex(columns=groups, fill_value=0.0).to_numpy(float)
            .reshape(len(lads), len(depts), len(groups)))
    group19 = {**GROUP_2019, "AA/AO": "aa_ao", "SEO/HEO": "heo_seo", "G6/G7": "g6_g7"}
    lad_i = b["lad_code"].map({c: k for k, c in enumerate(lads)}).to_numpy()
    posts = b["posts"].to_numpy(float)
    blocks, where = [], []
    for (i, u), cells in sorted(b.groupby(["itl3", "unit"]).indices.items()):
        cols = np.flatnonzero(z_int[(i, u)])
        h = seed[lad_i[cells]][:, cols, :]
        w = h[:, :, groups.index(group19[u])] + SEED_FLOOR_SHARE * h[:, :, -1] + SEED_FLOOR_CONST
        ipf(w, [((1,), posts[cells]), ((0,), z_int[(i, u)][cols])], 0, finish=2)
        blocks.append((w, posts[cells], z_int[(i, u)][cols]))
        where.append((cells, cols))
    rows, dept_of, counts = [], [], []
    for x, (cells, cols) in zip(controlled_round(blocks), where, strict=True):
        r_, c_ = np.nonzero(x)
        rows.append(cells[r_])
        dept_of.append(cols[c_])
        counts.append(x[r_, c_])
    out = b.iloc[np.concatenate(rows)][["lad_code", "grade", "profession", "role"]]
    out = out.reset_index(drop=True)
    out["department"] = np.array(depts)[np.concatenate(dept_of)]
    out["posts"] = np.concatenate(counts)
    return out


# --- People Survey -----------------------------------------------------------------------------

def _csps_workbook(src: Path, year: int) -> Path:
    return src / CSPS_WORKBOOK.format(y=year, ext="xlsx" if year == 2019 else "ods")


def _header_row(sheet: pd.DataFrame, first: str, rel: str) -> int:
    hit = np.flatnonzero(sheet.iloc[:, 0].astype(str).str.strip().str.startswith(first)
                         .to_numpy())
    if not len(hit):
        raise BuildError(f"{rel}: no header row starting {first!r}")
    return int(hit[0])


def _csps_rows(x: pd.DataFrame, year: int, rel: str) -> pd.DataFrame:
    """Keep the questions used; ``value`` as a count (error naming the row if it is not)."""
    x = x.copy()
    x["question"] = x["var"].astype(str).str.strip().str.split(".").str[0]
    x = x[x["question"].isin(CSPS_QUESTIONS) | (x["question"] == "ALL")]
    x = x[(x["question"] != "H8B") | (x["response"] == "Policy")]
    x["response"] = x["response"].astype(str).str.strip()
    value = pd.to_numeric(x["value"], errors="coerce")
    for i in np.flatnonzero(value.isna().to_numpy()):
        raise BuildError(f"{rel}: row {x['row'].iat[i]}: {x['question'].iat[i]} "
                         f"{x['response'].iat[i]!r}: count {x['value'].iat[i]!r} is not a number")
    x["value"] = value
    x["survey_year"] = year
    x["unit"] = "count"
    return x


def extract_csps(src: Path, year: int) -> pd.DataFrame:
    """The People Survey rows placesim uses, from one raw workbook, as a tidy table.

    Columns ``survey_year``, ``question`` (``ALL`` whole Civil Service, ``Z02`` grade band,
    ``H01`` work region, ``H04`` length of Civil Service service, ``H8B`` profession: Policy
    only), ``response`` (as published), ``seb_class`` (high, intermediate, routine,
    never_worked), ``value``, ``unit`` (``count`` of respondents; ``share`` for 2019, which
    publishes shares only), ``source`` (sheet). Reading an .ods file takes about a minute
    (one parse per workbook), which is why ``--vendor`` stores this table in ``geodata/sources``.
    """
    f = _csps_workbook(src, year)
    rel = str(f.relative_to(src))
    if not f.is_file():
        raise BuildError(f"{rel}: missing file")
    if year == 2019:
        s = pd.read_excel(f, sheet_name="Table 2", header=None)
        cls_row = s.iloc[1].astype(str).str.strip()
        cols = {c: CSPS_CLASSES[v] for c, v in cls_row.items() if v in CSPS_CLASSES}
        section, rows = None, []
        for i, r in s.iterrows():
            label = str(r.iloc[0]).strip() if pd.notna(r.iloc[0]) else ""
            if label and all(pd.isna(r[c]) for c in cols):
                section = label
                continue
            q = {"All civil servants": "ALL"}.get(label) or {"Grade": "Z02",
                                                             "Location": "H01"}.get(section)
            if not label or q is None:
                continue
            for c, k in cols.items():
                rows.append({"survey_year": year, "question": q, "response": label,
                             "seb_class": k, "value": float(r[c]), "unit": "share",
                             "source": "Table 2", "row": i + 1})
        out = pd.DataFrame(rows)
    elif year == 2024:
        book = pd.read_excel(f, sheet_name=["By_other_demographics", "Trend"], header=None)
        s = book["By_other_demographics"]
        h = _header_row(s, "Other demographic variable", rel)
        x = s.iloc[h + 1:, [0, 1, 2, 3, 5]].copy()
        x.columns = ["var", "response", "fvar", "fresp", "value"]
        x["row"] = np.arange(len(x)) + h + 2
        x = x[x["fvar"].astype(str).str.startswith("nssec3")]
        x["seb_class"] = x["fresp"].astype(str).str.strip().map(CSPS_CLASSES)
        x = _csps_rows(x[x["seb_class"].notna()], year, rel).assign(
            source="By_other_demographics")
        t = book["Trend"]
        h = _header_row(t, "Year", rel)
        hdr = t.iloc[h].astype(str).str.strip().tolist()
        y = t.iloc[h + 1:].copy()
        y.columns = hdr
        y["row"] = np.arange(len(y)) + h + 2
        y = y[pd.to_numeric(y["Year"], errors="coerce") == year]
        y = y.assign(var="ALL", response="All respondents", value=y["Count"],
                     seb_class=y["Focus demographic response"].astype(str).str.strip()
                     .map(CSPS_CLASSES))
        out = pd.concat([_csps_rows(y, year, rel).assign(source="Trend"), x])
    else:
        parts = []
        book = pd.read_excel(f, sheet_name=[*CSPS_SHEETS, "Trend"], header=None)
        for sheet, k in CSPS_SHEETS.items():
            s = book[sheet]
            h = _header_row(s, "Demographic variable", rel)
            x = s.iloc[h + 1:, [0, 1, 3]].copy()
            x.columns = ["var", "response", "value"]
            x["row"] = np.arange(len(x)) + h + 2
            parts.append(_csps_rows(x.assign(seb_class=k), year, rel).assign(source=sheet))
        t = book["Trend"]
        h = _header_row(t, "Year", rel)
        y = t.iloc[h + 1:, [0, 1, 2]].copy()
        y.columns = ["Year", "cls", "value"]
        y["row"] = np.arange(len(y)) + h + 2
        y = y[pd.to_numeric(y["Year"], errors="coerce") == year]
        y = y.assign(var="ALL", response="All respondents",
                     seb_class=y["cls"].astype(str).str.strip().map(CSPS_CLASSES))
        out = pd.concat([_csps_rows(y, year, rel).assign(source="Trend"), *parts])
    if out["seb_class"].isna().any():
        raise BuildError(f"{rel}: unknown NS-SEC class in the Trend sheet")
    cols = ["survey_year", "question", "response", "seb_class", "value", "unit", "source"]
    return out[cols].reset_index(drop=True)


def read_csps(src: Path) -> pd.DataFrame:
    """All People Survey rows used (:func:`extract_csps` for 2019 and 2021-2024): from the
    extract in ``src`` if there is one, else from the raw workbooks."""
    f = src / CSPS_EXTRACT
    if f.is_file():
        return pd.read_csv(f)
    return pd.concat([extract_csps(src, y) for y in CSPS_YEARS], ignore_index=True)


def _mix(rows: pd.DataFrame) -> tuple[float, float, float]:
    """(high, intermediate, low) shares of respondent rows, over the four classes."""
    c = rows.groupby("seb_class")["value"].sum()
    v = np.array([c.get("high", 0.0), c.get("intermediate", 0.0),
                  c.get("routine", 0.0) + c.get("never_worked", 0.0)])
    return tuple(float(x) for x in (v / v.sum()).round(6))


def seb_trend(csps: pd.DataFrame) -> pd.DataFrame:
    """SEB shares by survey year x dimension x group (``seb_trend.csv``)."""
    rows = []

    def add(year, dim, group, sel):
        x = csps[(csps["survey_year"] == year) & sel]
        if x.empty:
            return
        h, i, _ = _mix(x)
        n = x["value"].sum() if (x["unit"] == "count").all() else np.nan
        rows.append((year, dim, group, h, i, round(1 - h - i, 6), n))

    for y in sorted(csps["survey_year"].unique()):
        q, resp = csps["question"], csps["response"]
        add(y, "all", "all", q == "ALL")
        grade_band = resp.map(CSPS_BAND_NAMES)
        for b in ("AA/AO", "EO", "HEO/SEO", "G7/G6", "SCS"):
            add(y, "grade_band", b, (q == "Z02") & (grade_band == b))
        add(y, "place", "london", (q == "H01") & (resp == "London"))
        if (csps.loc[csps["survey_year"] == y, "unit"] == "count").all():
            add(y, "place", "elsewhere", (q == "H01") & (resp != "London")
                & ~resp.isin(CSPS_NOT_UK_REGION))
        add(y, "profession", "policy", (q == "H8B") & (resp == "Policy"))
        service = csps.loc[q == "H04", "response"]
        unknown = set(service[csps["survey_year"] == y]) - set(CSPS_SERVICE)
        if unknown:
            raise BuildError(f"People Survey {y}: unknown H04 response {sorted(unknown)[0]!r}")
        band = resp.map(lambda r: CSPS_SERVICE.get(r, ("", ""))[0])
        detail = resp.map(lambda r: CSPS_SERVICE.get(r, ("", ""))[1])
        for k in ("<1", "1-3", "3-5", "5-10", "10+"):
            add(y, "length_of_service", k, (q == "H04") & (band == k))
        for k in ("<0.5", "0.5-1", "1-3", "3-5", "5-10", "10-20", "20+"):
            add(y, "length_of_service_detail", k, (q == "H04") & (detail == k))
    out = pd.DataFrame(rows, columns=["survey_year", "dimension", "group", "high",
                                      "intermediate", "low", "respondents"])
    out["respondents"] = out["respondents"].astype("Int64")
    return out


def csps_margins(csps: pd.DataFrame, year: int) -> dict:
    """People Survey SEB margins (high, intermediate, low) of one survey year.

    Returns a dict with keys ``bands`` (grade band -> mix), ``london``, ``elsewhere``,
    ``policy``, ``all`` (respondents with a grade band) and ``source``.
    """
    x = csps[csps["survey_year"] == year]
    if x.empty or (x["unit"] != "count").any():
        raise BuildError(f"People Survey {year}: no respondent counts")
    band = x["response"].map(CSPS_BAND_NAMES)
    grade = x["question"] == "Z02"
    region = x["question"] == "H01"
    bands = {b: _mix(x[grade & (band == b)]) for b in ("AA/AO", "EO", "HEO/SEO", "G7/G6", "SCS")}
    return {"bands": bands, "london": _mix(x[region & (x["response"] == "London")]),
            "elsewhere": _mix(x[region & (x["response"] != "London")
                                & ~x["response"].isin(CSPS_NOT_UK_REGION)]),
            "policy": _mix(x[(x["question"] == "H8B") & (x["response"] == "Policy")]),
            "all": _mix(x[grade]),
            "source": f"Civil Service People Survey {year}, results by socio-economic "
                      "background (respondent counts)"}


def build_seb(baseline: pd.DataFrame, districts, margins: dict) -> pd.DataFrame:
    """SEB by grade x place x profession by IPF to People Survey 2024 margins (ASSUMPTION).

    The survey's grade-band and London/elsewhere margins imply slightly different whole-CS
    mixes once weighted by the workforce (respondents are not the workforce). Both sets are
    shifted by half the gap to a common whole-CS mix, so the margins are consistent and IPF
    converges; each then misses its published value by about half the gap (< 1 pp).
    """
    london = set(districts.loc[districts["is_london"], "lad_code"])
    b = baseline.assign(place=np.where(baseline["lad_code"].isin(london), "london", "elsewhere"))
    w = b.groupby(["grade", "place", "profession"])["posts"].sum()
    cells = list(w.index)
    W = w.to_numpy(float)
    bands = np.array([BAND_OF[g] for g, _, _ in cells])
    lon = np.array([p == "london" for _, p, _ in cells])
    pol = np.array([f == "policy" for _, _, f in cells])
    band_t = {bd: np.array(m) for bd, m in margins["bands"].items()}
    place_t = {True: np.array(margins["london"]), False: np.array(margins["elsewhere"])}
    whole_bands = sum(W[bands == bd].sum() * m for bd, m in band_t.items()) / W.sum()
    whole_place = sum(W[lon == k].sum() * m for k, m in place_t.items()) / W.sum()
    whole = (whole_bands + whole_place) / 2
    band_t = {bd: m + whole - whole_bands for bd, m in band_t.items()}
    place_t = {k: m + whole - whole_place for k, m in place_t.items()}
    policy_t = np.array(margins["policy"])
    other_t = (whole * W.sum() - policy_t * W[pol].sum()) / W[~pol].sum()
    targets = [(bands == bd, m) for bd, m in band_t.items()]
    targets += [(lon, place_t[True]), (~lon, place_t[False]), (pol, policy_t), (~pol, other_t)]
    N = np.outer(W, np.full(3, 1 / 3))
    for _ in range(2000):
        for mask, target in targets:
            N[mask] *= (target * W[mask].sum() / N[mask].sum(axis=0))[None, :]
        N *= (W / N.sum(axis=1))[:, None]
    shares = N / N.sum(axis=1, keepdims=True)
    out = pd.DataFrame(cells, columns=["grade", "place", "profession"])
    out[["high", "intermediate", "low"]] = shares.round(6)
    out["low"] = (1 - out["high"] - out["intermediate"]).round(6)
    # every (grade, place, profession) gets a row; missing cells take the SCS band/place fit
    full = pd.MultiIndex.from_product([GRADES11, ["london", "elsewhere"], ["policy", "other"]],
                                      names=["grade", "place", "profession"]).to_frame(
        index=False)
    out = full.merge(out, how="left")
    band_of_row = out["grade"].map(BAND_OF)
    for i in out.index[out["high"].isna()]:
        same = out[(band_of_row == band_of_row[i]) & (out["place"] == out.loc[i, "place"])
                   & (out["profession"] == out.loc[i, "profession"]) & out["high"].notna()]
        src_row = same.iloc[0] if len(same) else None
        mix = (src_row[["high", "intermediate", "low"]].to_numpy(float) if src_row is not None
               else band_t[band_of_row[i]].round(6))
        out.loc[i, ["high", "intermediate"]] = mix[:2]
        out.loc[i, "low"] = round(1 - mix[0] - mix[1], 6)
    return out


# --- Check figures and flows -------------------------------------------------------------------

def build_checks(src: Path, year: int) -> pd.DataFrame:
    """The published ACSES figures of ``year`` that the baseline must reproduce.

    ``measure``, ``grade`` (as published; 2021 grouped), ``region`` (ITL1 code, Overseas,
    Unknown; London / Outside London for ``headcount_london``), ``value``. Suppressed cells
    are left out. ``london_share`` is London / (London + Outside London), derived from the
    London table (2021: ITL1 London / all UK ITL1 regions).
    """
    tot = acses_table(src, year, "totals.csv")
    rows = [("headcount", "", "", float(tot.loc[tot["status"] == "in_post", "hc"].iloc[0]))]
    grades = published_grades(src, year)
    rows += [("headcount", g, "", float(grades[("in_post", g)]))
             for g in _grades_published(year)]
    rel = f"civil-service/acses_{year}/headcount_by_itl1.csv"
    r1 = acses_table(src, year, "headcount_by_itl1.csv", ("Region_ITL1",))
    r1 = r1[r1["status"] == "in_post"].copy()
    r1["region"] = place(r1, "Region_ITL1", itl_names(src, "ITL1"), rel)
    rows += [("headcount", "", r.region, float(r.hc))
             for r in r1.sort_values("region").itertuples() if pd.notna(r.hc)]
    g1 = grade_by_itl1(src, year).dropna(subset=["hc"])
    order = {g: i for i, g in enumerate(_grades_published(year))}
    g1 = g1.sort_values(["grade", "region"], key=lambda c: c.map(order) if c.name == "grade"
                        else c)
    rows += [("headcount", r.grade, r.region, float(r.hc)) for r in g1.itertuples()]
    if year == 2021:
        uk = g1[~g1["region"].isin(NOT_PLACED)]
        lon = uk[uk["region"] == "TLI"].groupby("grade")["hc"].sum()
        share = lon / uk.groupby("grade")["hc"].sum()
        all_share = (r1.loc[r1["region"] == "TLI", "hc"].sum()
                     / r1.loc[~r1["region"].isin(NOT_PLACED), "hc"].sum())
    else:
        gl = acses_table(src, year, "grade_by_london.csv", ("grade", "Region_london"))
        gl = gl[gl["status"] == "in_post"].dropna(subset=["hc"])
        gl["place"] = gl["Region_london"].str.strip()
        gl = gl.sort_values(["grade", "place"], key=lambda c: c.map(order) if c.name == "grade"
                            else c)
        rows += [("headcount_london", r.grade, r.place, float(r.hc)) for r in gl.itertuples()]
        piv = gl.pivot_table(index="grade", columns="place", values="hc", aggfunc="sum")
        share = piv["London"] / (piv["London"] + piv["Outside London"])
        all_share = piv["London"].sum() / (piv["London"].sum() + piv["Outside London"].sum())
    rows.append(("london_share", "", "", round(float(all_share), 4)))
    rows += [("london_share", g, "", round(float(share[g]), 4))
             for g in _grades_published(year) if g != "Unknown" and g in share.index]
    if year == SCS_BAND_YEAR:  # written PQ 2438 (28 Nov 2023), centrally managed SCS 1 Apr 2023
        rows += [("scs_band", k, "", float(v)) for k, v in SCS_BAND_TOTALS.items()]
    out = pd.DataFrame(rows, columns=["measure", "grade", "region", "value"])
    out.insert(1, "department", "")
    out = pd.concat([out, dept_checks(src, year)], ignore_index=True)
    out["value"] = pd.Series([int(v) if float(v).is_integer() else v for v in out["value"]],
                             dtype=object)  # counts written as whole numbers
    return out


def dept_checks(src: Path, year: int) -> pd.DataFrame:
    """Published department figures the baseline must reproduce (suppressed cells left out).

    ``dept_headcount``: department x ITL1 in post (``parent_dept_by_itl1.csv``).
    ``dept_london_share`` (grade ``SCS``): London / (London + outside London) of the
    department's SCS (2021: ITL1 London / all UK ITL1 regions, only where no cell of the
    department's SCS row is suppressed), for departments with at least
    :data:`DEPT_SCS_CHECK_MIN` UK-based SCS.
    """
    t = dept_table(src, year, "parent_dept_by_itl1.csv", ("Region_ITL1",))
    t = t[~t["region"].isin(NOT_PLACED) & ~t["suppressed"]].sort_values(["department", "region"])
    rows = [("dept_headcount", r.department, "", r.region, float(r.hc)) for r in t.itertuples()]
    if year == 2021:
        g = dept_table(src, year, "parent_dept_grade_by_itl1.csv", ("grade", "Region_ITL1"))
        g = g[(g["grade"] == "SCS") & ~g["region"].isin(NOT_PLACED)]
        clean = ~g.groupby("department")["suppressed"].any()
        g = g[g["department"].isin(clean[clean].index)]
        lon = g[g["region"] == "TLI"].groupby("department")["hc"].sum()
        uk = g.groupby("department")["hc"].sum()
    else:
        g = dept_table(src, year, "parent_dept_grade_by_london.csv", ("grade", "Region_london"))
        g = g[(g["grade"] == "SCS") & g["region"].isin(["London", "Outside London"])]
        piv = g.pivot_table(index="department", columns="region", values="hc", aggfunc="sum")
        supp = g.groupby("department")["suppressed"].any()
        piv = piv[~supp.reindex(piv.index).fillna(True).astype(bool)]
        lon = piv["London"].fillna(0)
        uk = lon + piv["Outside London"].fillna(0)
    for d in sorted(uk.index):
        if uk[d] >= DEPT_SCS_CHECK_MIN:
            rows.append(("dept_london_share", d, "SCS", "", round(float(lon.get(d, 0) / uk[d]), 4)))
    return pd.DataFrame(rows, columns=["measure", "department", "grade", "region", "value"])


def build_departments(src: Path, year: int) -> pd.DataFrame:
    """``departments.csv``: one row per ACSES parent department of ``year``: ``code``,
    ``name`` (as published that year), ``aliases`` (other codes and names that resolve to it,
    ``; ``-separated), ``overseas`` and ``unknown_region`` (published in-post staff the
    baseline does not place; blank where suppressed or none), ``note``."""
    rel = f"civil-service/acses_{year}/parent_dept_by_itl1.csv"
    t = dept_table(src, year, "parent_dept_by_itl1.csv", ("Region_ITL1",))
    names = t.groupby("department")["Parent_department"].agg(
        lambda v: sorted(set(v.str.strip())))
    rows = []
    for code, all_names, aliases, note in DEPARTMENTS:
        if code not in names.index:
            continue
        if len(names[code]) > 1:
            raise BuildError(f"{rel}: department {code} published under two names "
                             f"{names[code]}")
        name = names[code][0]
        other = {a.casefold(): a for a in (*aliases, *all_names) if a.casefold() != name.casefold()}
        mine = t[t["department"] == code].set_index("region")

        def published(region: str, mine=mine):
            if region not in mine.index or mine.loc[region, "suppressed"]:
                return None
            return int(mine.loc[region, "hc"])

        rows.append((code, name, "; ".join(other.values()), published("Overseas"),
                     published("Unknown"), note))
    out = pd.DataFrame(rows, columns=["code", "name", "aliases", "overseas", "unknown_region",
                                      "note"])
    for c in ("overseas", "unknown_region"):
        out[c] = out[c].astype("Int64")
    return out


def build_flows(src: Path, year: int) -> pd.DataFrame:
    """In post at the census date and flows in the year to it, by ACSES grade (+Unknown).

    Exactly as published for 2022/2023. 2021's grouped grades are split by the 2022 national
    within-group ratios of the same status, integerised so each group keeps its total;
    ``published_as`` names the group a row was split from.
    """
    pub = published_grades(src, year)
    cols = list(STATUSES.values())
    out = pd.DataFrame(index=pd.Index([*GRADES8, "Unknown"], name="grade"), columns=cols,
                       dtype="int64")
    published_as = {}
    if year == 2021:
        ratio = published_grades(src, 2022)
        for group, members in GRADE_GROUPS_2021.items():
            for status in cols:
                w = np.array([ratio[(status, g)] for g in members], float)
                out.loc[list(members), status] = largest_remainder(
                    w / w.sum() * pub[(status, group)], int(pub[(status, group)]))
            published_as.update({g: group for g in members})
    else:
        for g in out.index:
            out.loc[g] = [int(pub[(s, g)]) for s in cols]
        published_as = {g: g for g in out.index}
    out = out.astype("int64").reset_index()
    out["published_as"] = out["grade"].map(published_as)
    return out


# --- Packages ----------------------------------------------------------------------------------

def _rows(path: Path) -> int:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return len(pd.read_csv(path, dtype=str))


def write_manifest(out: Path, meta: dict) -> dict:
    """Write ``package.json``: the package's year and sources (``meta``) and, for every data
    file, its number of data rows and SHA-256, so a truncated or edited file is detected."""
    files = {f.name: {"rows": _rows(f), "sha256": file_sha256(f)}
             for f in sorted(out.iterdir()) if f.suffix in (".csv", ".parquet")}
    doc = {**meta, "files": files}
    (out / "package.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return doc


def package_meta(year: int, margins: dict) -> dict:
    """The ``package.json`` fields other than ``files``."""
    return {
        "format": 1,
        "year": year,
        "census_date": f"{year}-03-31",
        "title": f"Civil Service at 31 March {year}",
        "vintage": f"Civil Service Statistics 31 March {year}; Civil Service People Survey "
                   f"{CSPS_YEAR[year]}; SMC State of the Nation 2025; ONS LAD {DISTRICT_YEAR}",
        "districts": f"LAD {DISTRICT_YEAR}",
        "people_survey": CSPS_YEAR[year],
        "build": f"python geodata/build.py --year {year}",
        "sources": {
            "civil_service_statistics": f"civil-service/acses_{year}/ (ACSES data browser, "
                                        f"{year}); see geodata/sources/SOURCES.md",
            "people_survey": margins["source"],
            "district_pattern": "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv",
            "boundaries": "boundaries/ons_uk_topo_2014_2025.topojson (ONS, LAD 2023)",
            "social_mobility": "smc/smc_composite_indices_son25.csv (SMC State of the Nation "
                               "2025)",
            "labour_market": "smc/local_occupation_mix.csv (DR14, SON24 edition)",
            "sites": "hubs/pfg_hub_locations_lad_centroids.csv",
            "departments": f"civil-service/acses_{year}/parent_dept_*.csv (ACSES data browser, "
                           f"{year}); {ORG_2019} (department pattern within ITL3)",
            "scs_bands": "written PQ 2438 (28 Nov 2023)" if year == SCS_BAND_YEAR else
                         "written PQ 2438 (1 April 2023) scaled to this year's SCS level "
                         "(ASSUMPTION)",
        },
        "licence": "Open Government Licence v3.0; see geodata/README.md",
    }


def build_year(src: Path, out: Path, year: int, districts, common: dict, csps,
               mesh) -> dict:
    """Write the package of one year into ``out`` and return its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():  # a package folder holds only what this build writes
        if f.is_file() and f.suffix in (".csv", ".parquet", ".json") or f.name == "VINTAGE":
            f.unlink()
    districts.to_parquet(out / "districts.parquet", compression="zstd", index=False)
    mesh.to_parquet(out / MESH_FILE, compression="zstd", index=False)
    for name, frame in common.items():
        if name != "seb_trend.csv":
            frame.to_csv(out / name, index=False)
    base8, _ = build_baseline(src, year, districts)
    baseline = split_scs_profession_role(base8, districts, policy_share(src, year),
                                         scs_band_totals(src, year))
    split_departments(baseline, districts, src, year).to_csv(out / "baseline_posts.csv",
                                                             index=False)
    build_departments(src, year).to_csv(out / "departments.csv", index=False)
    margins = csps_margins(csps, CSPS_YEAR[year])
    build_seb(baseline, districts, margins).to_csv(out / "seb_by_grade_place.csv", index=False)
    build_checks(src, year).to_csv(out / "checks.csv", index=False)
    build_flows(src, year).to_csv(out / "flows_by_grade.csv", index=False)
    common["seb_trend.csv"].to_csv(out / "seb_trend.csv", index=False)
    write_manifest(out, package_meta(year, margins))
    return {"year": year, "out": str(out), "posts": int(baseline["posts"].sum()),
            "csps_margins": margins}


def build(src: Path, out_root: Path, years: list[int]) -> list[dict]:
    """Build the packages of ``years`` into ``out_root/<year>``; districts are built once."""
    for y in years:  # read every ACSES table first, so a broken row stops the build at once
        grade_by_itl3(src, y)
        london_split(src, y)
        policy_share(src, y)
        build_checks(src, y)
        build_flows(src, y)
        build_departments(src, y)
    districts = build_districts(src)
    common = {
        "social_mobility.csv": build_social_mobility(src, districts),
        "opportunity_areas.csv": pd.DataFrame(
            [(c, oa) for oa, cs in OPPORTUNITY_AREAS.items() for c in cs],
            columns=["lad_code", "opportunity_area"]),
        "labour_market.csv": build_labour_market(src, districts),
        "sites.csv": build_sites(src, districts),
    }
    csps = read_csps(src)
    common["seb_trend.csv"] = seb_trend(csps)
    mesh = build_mesh(districts)  # (the app's national map: about a second, done once here)
    return [build_year(src, out_root / str(y), y, districts, common, csps, mesh)
            for y in years]


# --- Vendoring ---------------------------------------------------------------------------------

def vendored_files() -> list[str]:
    """Paths (relative to the source folder) of every raw file a package build reads."""
    files = ["SOURCES.md", "boundaries/ons_uk_topo_2014_2025.topojson",
             "boundaries/Local_Authority_Districts_May_2021_UK_BUC.geojson",
             "boundaries/ons_ltla_changes_2014_2025.csv",
             "regions/LAD20_LAU121_ITL321_ITL221_ITL121_UK_LU_v2.csv",
             "smc/smc_area_to_lad.csv", "smc/smc_composite_indices_son25.csv",
             "smc/local_occupation_mix.csv", "hubs/pfg_hub_locations_lad_centroids.csv",
             "civil-service/acses_itl_name_to_code.csv",
             "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv",
             ORG_2019]
    tables = {2021: ("totals", "staff_by_grade", "headcount_by_itl1", "headcount_grade_by_itl1",
                     "headcount_grade_by_itl3", "itl1_itl2_itl3_headcount",
                     "profession_grade_by_itl1", *DEPT_TABLES[2021]),
              2022: ("totals", "staff_by_grade", "headcount_by_itl1", "headcount_grade_by_itl1",
                     "headcount_grade_by_itl3", "grade_by_london", "profession_grade_by_london",
                     *DEPT_TABLES[2022]),
              2023: ("totals", "staff_by_grade", "headcount_by_itl1", "headcount_grade_by_itl1",
                     "headcount_grade_by_itl3", "grade_by_london", "profession_grade_by_london",
                     *DEPT_TABLES[2023])}
    files += [f"civil-service/acses_{y}/{t}.csv" for y, ts in tables.items() for t in ts]
    return files


def vendor(src: Path, dst: Path) -> pd.DataFrame:
    """Copy the raw files the builds read from ``src`` into ``dst`` byte for byte, write the
    People Survey extract (:func:`extract_csps`) and ``MANIFEST.csv`` (path, bytes, SHA-256,
    origin) so the copies can be checked against the originals."""
    rows = []
    for rel in vendored_files():
        f = dst / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, f)
        rows.append((rel, f.stat().st_size, file_sha256(f), f"copy of geodata-src/{rel}"))
    csps = pd.concat([extract_csps(src, y) for y in CSPS_YEARS], ignore_index=True)
    f = dst / CSPS_EXTRACT
    f.parent.mkdir(parents=True, exist_ok=True)
    csps.to_csv(f, index=False)
    rows.append((CSPS_EXTRACT, f.stat().st_size, file_sha256(f),
                 "extract of geodata-src/" + ", ".join(
                     str(_csps_workbook(Path(), y)) for y in CSPS_YEARS)
                 + " by build.py extract_csps"))
    man = pd.DataFrame(rows, columns=["path", "bytes", "sha256", "origin"])
    man.to_csv(dst / "MANIFEST.csv", index=False)
    return man


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", default="2023",
                    help="census year 2021, 2022 or 2023 (31 March), or 'all' (default 2023)")
    ap.add_argument("--src", default=None,
                    help="raw sources (default: geodata/sources, vendored from "
                         "../shared/geodata-src; with --vendor: ../shared/geodata-src)")
    ap.add_argument("--out", default=str(HERE),
                    help="folder that receives <year>/ (default: geodata)")
    ap.add_argument("--vendor", action="store_true",
                    help="refresh geodata/sources from --src instead of building")
    a = ap.parse_args(argv)
    try:
        if a.vendor:
            src = Path(a.src) if a.src else next(
                (p for p in (ROOT.parent / "shared" / "geodata-src",
                             ROOT.parent.parent / "shared" / "geodata-src") if p.is_dir()),
                ROOT.parent / "shared" / "geodata-src")
            man = vendor(src, VENDORED)
            print(f"{len(man)} files, {man['bytes'].sum():,} bytes -> {VENDORED}")
            return 0
        years = list(YEARS) if a.year == "all" else [int(y) for y in a.year.split(",")]
        if not set(years) <= set(YEARS):
            raise BuildError(f"--year: {a.year} (choose from {', '.join(map(str, YEARS))}, all)")
        src = Path(a.src) if a.src else VENDORED
        for r in build(src, Path(a.out), years):
            print(json.dumps(r, default=str))
    except BuildError as e:
        print(f"build.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
