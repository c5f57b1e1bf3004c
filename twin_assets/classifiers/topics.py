"""Special-category topics: health and pay. Findings are HIGH but *soft*.

Soft means: they raise a record's source default (a note about a diagnosis is
HIGH, not MEDIUM), but a forced verdict — a published item, a user ``set`` rule
— overrides them. A forced verdict is a statement about the item's audience;
words about a topic do not contradict it (a health newsletter says "diagnosis"
to thousands of readers), whereas a card number or a password in it is a leak
whatever the audience, which is why those detectors are hard.

Only strong evidence counts: a diagnosis, a prescription, a therapist, lab
results, a prescription drug by name; a payslip, or a salary word next to an
amount. "Dentist appointment" or "salary negotiation tips" alone do not.
Deliberately absent: "diagnostic" (a tool, in software mail), "Rezept" alone
(a recipe, in German), over-the-counter painkillers ("took an ibuprofen").
English, German and French: the languages of the persona and the samples.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from twin_assets.classifiers import Finding, Lexicon, ScanText, terms
from twin_assets.stores import HIGH

# One line group per language: English, German, French.
MEDICAL_PHRASES = terms(
    """
    diagnosis, diagnoses, diagnosed, prescription, prescriptions, therapist, therapists
    psychotherapist, psychiatrist, psychiatrists, lab result, lab results, blood test, blood tests
    blood work, blood panel, biopsy, biopsies, chemotherapy, radiotherapy, oncologist, HIV
    hepatitis A, hepatitis B, hepatitis C, sick note, medical certificate, mental health
    pathology report, MRI results, CT scan results
    Diagnose, Diagnosen, Befund, Befunde, Befundbericht, Laborwerte, Laborergebnis, Laborergebnisse
    Blutwerte, Blutbild, E-Rezept, Folgerezept, Kassenrezept, Privatrezept, rezeptpflichtig
    rezeptpflichtige, rezeptpflichtigen, Therapeut, Therapeutin, Psychotherapeut, Psychotherapeutin
    Psychiater, Psychiaterin, Physiotherapie, Psychotherapie, Chemotherapie, Strahlentherapie
    Verhaltenstherapie, Krankschreibung, Arbeitsunfähigkeitsbescheinigung, AU-Bescheinigung
    Überweisung zum Facharzt
    ordonnance médicale, arrêt maladie, arrêt de travail, résultats d'analyses, diagnostiqué
    diagnostiquée, psychothérapeute, psychiatre
    """
)
# Prescription drugs: naming one is health data.
MEDICATIONS = terms(
    """
    metformin, metformine, levothyroxine, levothyroxin, L-Thyroxin, Euthyrox, atorvastatin
    simvastatin, rosuvastatin, amlodipine, amlodipin, lisinopril, ramipril, metoprolol, bisoprolol
    candesartan, valsartan, omeprazole, omeprazol, pantoprazole, pantoprazol, sertraline, sertralin
    citalopram, escitalopram, fluoxetine, fluoxetin, paroxetine, paroxetin, venlafaxine, venlafaxin
    duloxetine, duloxetin, bupropion, mirtazapine, mirtazapin, quetiapine, quetiapin, olanzapine
    olanzapin, aripiprazole, aripiprazol, risperidone, risperidon, lithium carbonate, lamotrigine
    lamotrigin, valproate, Valproinsäure, levetiracetam, methylphenidate, methylphenidat, Ritalin
    Adderall, lisdexamfetamine, Elvanse, diazepam, lorazepam, alprazolam, Xanax, zolpidem
    tramadol, Tilidin, oxycodone, oxycodon, fentanyl, insulin, prednisolone, prednisolon
    prednisone, prednison, amoxicillin, ciprofloxacin, doxycycline, doxycyclin, azithromycin
    warfarin, Marcumar, apixaban, rivaroxaban, Eliquis, Xarelto, clopidogrel, salbutamol
    budesonide, budesonid, montelukast, finasteride, finasterid, sildenafil, tadalafil, isotretinoin
    methotrexate, methotrexat, adalimumab, Humira, tamoxifen, letrozole, letrozol, Truvada
    emtricitabine, Ozempic, semaglutide, semaglutid
    """
)
PAYSLIP_PHRASES = terms(
    """
    payslip, payslips, pay slip, pay slips, pay stub, pay stubs, paystub, paystubs, salary slip
    salary statement, wage statement, Gehaltsabrechnung, Gehaltsabrechnungen, Lohnabrechnung
    Lohnabrechnungen, Entgeltabrechnung, Verdienstbescheinigung, Lohnsteuerbescheinigung, fiche de paie
    fiches de paie, bulletin de paie, bulletin de salaire
    """
)
# A salary word counts only with an amount nearby: "salary negotiation tips" is not pay data.
SALARY_PHRASES = terms(
    """
    salary, salaries, base pay, gross pay, net pay, annual pay, take-home pay, pay rise
    compensation package, compensation review, compensation plan, total compensation, Gehalt
    Bruttogehalt, Nettogehalt, Jahresgehalt, Grundgehalt, Monatsgehalt, Zielgehalt, Gehälter
    Gehaltserhöhung, Bruttolohn, Nettolohn, salaire, rémunération
    """
)

MEDICAL = Lexicon(MEDICAL_PHRASES + MEDICATIONS)
PAYSLIP = Lexicon(PAYSLIP_PHRASES)
SALARY_WORD = Lexicon(SALARY_PHRASES)
AMOUNT = re.compile(
    r"(?i)(?:€|eur|usd|gbp|chf|\$|£)\s?\d[\d.,' ]*\d(?:\s?k)?|\d[\d.,']*\d\s?(?:k\s?)?(?:€|eur\b|euro\b|usd\b|"
    r"\$|£|chf\b|gbp\b)|\b\d{1,3}k\b"
)
# How far an amount may be from the salary word to count as its figure.
NEAR = 120


def find_medical(scan: str | ScanText) -> Iterator[Finding]:
    for start, end in MEDICAL.spans(scan):
        yield Finding("medical", start, end, HIGH, soft=True)


def find_salary(scan: str | ScanText) -> Iterator[Finding]:
    scan = ScanText.of(scan)
    text = scan.text
    for start, end in PAYSLIP.spans(scan):
        yield Finding("salary", start, end, HIGH, soft=True)
    for start, end in SALARY_WORD.spans(scan):
        if AMOUNT.search(text, max(0, start - NEAR), end + NEAR):
            yield Finding("salary", start, end, HIGH, soft=True)
