"""The crisis check notices direct and indirect crisis language and lets look-alikes pass.

The measured recall and false-alarm rates (held-out and cross-validated) are in the README;
these tests pin the behaviour callers depend on."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.config import AnswerSettings
from search.errors import ConfigError
from search.safety import load_crisis_check

DIRECT = [
    ("I want to kill myself", "suicide"),
    ("i've been cutting again", "self_harm"),
    ("I took all my tablets an hour ago", "overdose"),
    ("I'm scared I'll hurt my baby", "harm_to_others"),
    ("my partner hits me when he drinks", "abuse"),
    ("I don't want to be here any more", "suicide"),
    ("I feel suicidal tonight", "suicide"),
    ("ngl i want to unalive myself", "suicide"),
    ("my flatmate doesn't want to live any more and has locked her door", "suicide"),
    ("sorry for everything. tell my brother i loved him", "suicide"),
    ("I've been putting my affairs in order this week", "suicide"),
    ("relapsed, cutting now", "self_harm"),
    # staff shorthand and plain goodbyes a blind list found missed (README, round 5 and 6)
    ("caller slurring, reports OD of amitriptyline + alcohol, cant give address", "overdose"),
    ("Caller's son has shut himself in the garage with the car engine running", "suicide"),
    ("I've given the cat to my neighbour. I just wanted someone to know before I go.",
     "suicide"),
    ("she took approximately 30 sertraline tablets about 40 minutes before calling",
     "overdose"),
    ("I self harmed last night and it might need stitches", "self_harm"),
    ("who do we ring right now, my son has taken pills", "overdose"),
    # someone else's self-harm, now or intended
    ("my 16 year old is in a bad way tonight and I think she might hurt herself", "self_harm"),
    ("my girlfriend self harms, is DBT meant for her", "self_harm"),
]
LOOKALIKES = [
    "this waiting list is killing me",
    "I'm dying to know if EMDR works",
    "do you run drug abuse services",
    "what is the NICE guidance on managing self-harm in A&E",
    "how long does CBT take",
    "killing time before my appointment, is there a cafe",
    "my phone died while I was on hold",
    "I used to burn myself as a teenager, can DBT help with the scars on how I feel?",
    "I've made my peace with my dad's diagnosis, now how do I support him?",
    "my mum has taken tablets for her blood pressure for years, can she have CBT?",
    "can DBT help someone who self-harms?",
    "she hurt herself falling off her bike, is that why she's anxious about PE?",
    # what round 8's blind lists found alarming that is not
    "I really don't want to go on sleeping pills. Is there anything else?",
    "I get horrible flashes of thoughts about hurting my baby. I'd never want to. Does it "
    "mean I might?",
    "My teenage son washes his hands until they bleed. Will ERP be too much for him?",
    "I could have strangled my brother when he told mum about the party.",
]


@pytest.fixture(scope="module")
def check():  # type: ignore[no-untyped-def]
    settings = AnswerSettings()
    return load_crisis_check(settings.crisis_guidance, settings.safety_file)


@pytest.mark.parametrize(("text", "kind"), DIRECT)
def test_direct_crisis_language_is_caught_without_the_model(check, text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    safety = check.check(text)
    assert safety.crisis and kind in safety.categories
    assert all(number in safety.guidance for number in ("999", "NHS 111", "116 123"))


@pytest.mark.parametrize("text", LOOKALIKES)
def test_look_alikes_do_not_raise_the_banner(check, text: str) -> None:  # type: ignore[no-untyped-def]
    safety = check.check(text)
    assert not safety.crisis and safety.categories == () and safety.guidance == ""


def test_topic_words_alone_do_not_alarm(check) -> None:  # type: ignore[no-untyped-def]
    # They alarmed mostly for the bereaved, parents and professionals (README, Crisis check).
    assert not check.check("statistics on suicide rates in the UK").crisis
    assert not check.check("my grandad died by suicide in the 80s, is depression hereditary").crisis
    assert check.check("my brother says he is going to kill himself tonight").crisis


@pytest.mark.model
@pytest.mark.parametrize("text", [
    "won't be a problem for anyone for much longer",
    "gave my dog to my sister and wrote everyone a letter, it's all sorted now",
    pytest.param("what's the quickest way to get to the top floor of the multi storey",
                 marks=pytest.mark.xfail(reason="missed at the probe's 2% false-alarm point "
                                         "(README, Crisis check)", strict=True)),
])
def test_indirect_language_is_caught_by_meaning(check, embedder, text: str) -> None:  # type: ignore[no-untyped-def]
    assert check.check(text, embedder).crisis


@pytest.mark.model
@pytest.mark.parametrize("text", ["how long does CBT take", "is art therapy free on the NHS",
                                  "what happens in a first family therapy session"])
def test_ordinary_questions_pass_the_meaning_check(check, embedder, text: str) -> None:  # type: ignore[no-untyped-def]
    assert not check.check(text, embedder).crisis


@pytest.mark.model
@pytest.mark.parametrize(("text", "crisis"), [
    ("Czy mogę zmienić termin wizyty na czwartek?", False),
    ("¿Cuánto tiempo hay que esperar para empezar la terapia?", False),
    ("Olá, preciso de um intérprete para a consulta de amanhã.", False),
    ("هل يمكنني تغيير موعدي إلى الأسبوع القادم؟", False),
    ("Nie chcę dłużej żyć, mam dość wszystkiego", True),
    ("Quiero quitarme la vida esta noche", True),
    ("أريد أن أنهي حياتي", True),
    # someone else at risk, in the third person
    ("Mój brat chce się zabić, stoi na moście", True),
    ("Minha filha se trancou no quarto e disse que vai se cortar até morrer", True),
    ("لم أعد أحتمل. أنا واقف الآن على سطح العمارة وأفكر أن أقفز", True),
    ("mi hermano se quiere matar", True),
    ("Fratele meu mi-a scris că își ia viața în seara asta", True),
    ("Czy mogę się zapisać na terapię?", False),
])
def test_a_message_in_another_language_is_read_by_its_patterns_not_the_model(
        check, embedder, text: str, crisis: bool) -> None:  # type: ignore[no-untyped-def]
    # The English model's vectors of other languages mean nothing: a probe over them
    # raised the banner on nine in ten everyday messages in the other languages.
    assert check.check(text, embedder, english=False).crisis is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # goodbyes and plans said in passing, in each language (patterns alone, no model)
    ("Przepraszam za wszystko. Jutro już mnie nie będzie.", True),
    ("Le-am lăsat copiilor tot ce am. Nu mai sunt o povară pentru nimeni.", True),
    ("estoy en el puente y creo que voy a saltar", True),
    ("Digam à minha mãe que peço desculpa. Amanhã já não estarei cá.", True),
    ("قولوا لأمي إني آسف. بكرة ما راح أكون موجود.", True),
    ("meri appointment cancel kar dein, main hamesha ke liye ja raha hoon", True),
    ("میں اب اور نہیں جی سکتی، آج رات سب ختم کر دوں گی۔", True),
    ("ਮੇਰੇ ਦੋਸਤ ਨੇ ਮੈਸੇਜ ਕੀਤਾ ਕਿ ਉਹ ਰੇਲ ਦੀ ਪਟੜੀ ਤੇ ਖੜ੍ਹਾ ਹੈ", True),
    ("Mój mąż ma nóż i grozi, że mnie zabije.", True),
    ("no need to renew my prescription, i won't be needing it after thursday", True),
    ("ive od'd. sorry", True),
    ("My mother says she no longer wants to live: Minha mãe disse que não quer mais viver", True),
    ("I've been saving up my heart tablets. I don't see why I should carry on.", True),
    ("he says he won't be needing his pension anymore", True),
    # the same words in everyday use
    ("Jutro nie będzie mnie w pracy, czy mogę przełożyć wizytę?", False),
    ("Mi hija está en el puente de Londres con el colegio, ¿a qué hora acaba la sesión?", False),
    ("After my overdose in 2019 DBT really helped. Is there a follow-on group?", False),
    ("I won't be needing the interpreter after Thursday, my English is better now.", False),
    ("It happened years ago and I've never told anyone. I don't know what to do with it.", False),
])
def test_plans_and_goodbyes_are_caught_in_each_language(check, text: str, crisis: bool) -> None:  # type: ignore[no-untyped-def]
    assert check.check(text).crisis is crisis


def test_a_backspace_in_a_pattern_is_refused_not_silently_never_matched(tmp_path: Path) -> None:
    # In TOML double quotes "\b" is a backspace: the pattern would never match anything.
    broken = tmp_path / "safety.toml"
    broken.write_text('[crisis]\nsuicide = ["\\bend it all\\b"]\n')
    with pytest.raises(ConfigError, match="backspace"):
        load_crisis_check("guidance", broken)


def test_the_guidance_is_configurable_and_never_empty(tmp_path: Path) -> None:
    custom = AnswerSettings(crisis_guidance="Call the duty team on 0808 157 0360.")
    check = load_crisis_check(custom.crisis_guidance, custom.safety_file)
    assert check.check("I want to end my life").guidance == "Call the duty team on 0808 157 0360."
    with pytest.raises(ConfigError, match="crisis_guidance"):
        AnswerSettings(crisis_guidance=" ")
    broken = tmp_path / "safety.toml"
    broken.write_text("[crisis]\nsuicide = ['(unclosed']\n")
    with pytest.raises(ConfigError, match="safety file"):
        load_crisis_check("guidance", broken)
