"""The question analysis (search/query.py): intents, answer types, language, long
messages. No model: the analyser reads the data file and a word test."""

from __future__ import annotations

import pytest

from search.errors import QueryError
from search.messages import MAX_MESSAGE_CHARS, MAX_QUERY_CHARS, question_part
from search.names import document_names
from search.query import Analyser
from search.question_rules import load_question_rules
from search.vocabulary import load_vocabulary

TITLES = [("cbt.md", "Cognitive behavioural therapy (CBT)"),
          ("tfcbt.md", "Trauma-focused cognitive behavioural therapy (TF-CBT)"),
          ("cbti.md", "CBT for insomnia (CBT-I)"),
          ("tms.md", "Transcranial magnetic stimulation (TMS)"),
          ("ect.pdf", "Electroconvulsive therapy (ECT)"),
          ("walk.txt", "Walking group therapy"), ("art.html", "Art therapy")]
OUR_WORDS = {"therapy", "session", "wait", "refer", "line", "open", "group", "cbt", "time",
             "appointment", "number", "book", "long", "take", "side", "effect", "memory"}


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(load_vocabulary(), document_names(TITLES), load_question_rules(),
                    lambda word: word.rstrip("s") in OUR_WORDS)


@pytest.mark.parametrize(("question", "intent", "answer_type"), [
    ("cbt waitng time?", "referral", "waiting_time"),
    ("CAT wait for 1st appt?", "referral", "waiting_time"),
    ("central referals line no. + is it open sat?", "referral", "phone"),
    ("are you open on Saturdays?", "referral", "opening_hours"),
    ("whats the email address for the crisis team", "referral", "email"),
    ("how much does CBT cost", "cost", "price"),
    ("how long does CBT take", "duration", "sessions"),
    ("how many sessions of IPT will I get", "duration", "session_count"),
    ("how long is a cbt session", "session", "session_length"),
    ("min age for play thrpy", "who_for", "age"),
    ("side effects of ECT", "side_effects", None),
    ("Will EMDR cure my PTSD completely?", "outcome", None),
    ("what happens in an art therapy session", "session", None),
    ("how does EMDR work", "how_it_works", None),
    ("what is schema therapy", "what_is", None),
    ("How many beds does the crisis house have?", None, "count"),
    # staff shorthand: "no. of" counts, it is not a phone number; "ax" is an assessment
    ("art thrpy initial block no. of wks", "duration", "sessions"),
    ("bereavment counselling no. of sesh", "duration", "session_count"),
    ("ed line no.", "referral", "phone"),
    ("psych ax appt length", "session", "session_length"),
    ("dbt waitin time?", "referral", "waiting_time"),  # a misspelt keyword, read as it
    ("crisis team no 24/7?", "referral", "phone"),  # "no" for number, after "team"
    ("crisis team no longer rings me", None, None),
    ("dbt prog length", "duration", "sessions"),
    ("how many sesssions of cbt", "duration", "session_count"),
    ("how many play therapy sessions do children usually get", "duration", "session_count"),
    # a call's length is a session's, not a phone number; "open" of a compound is no hours
    ("gsh support call length", "session", "session_length"),
    ("How long are couple therapy sessions?", "session", "session_length"),
    ("how long are the guided self-help calls", "session", "session_length"),
    ("r u open sat?", "referral", "opening_hours"),
    # "no." of sessions is a count, not a phone number; a first appointment is no wait
    # unless asked when; misspelt and verbless session lengths
    ("cbtp nice min no. sessions", "duration", "session_count"),
    ("memory clinic can 1st appt be at home", None, None),
    ("time to 1st appt for cbt?", "referral", "waiting_time"),
    ("emdr sesh lenght?", "session", "session_length"),
    ("social skills grp how long each sesh", "session", "session_length"),
    ("how long should patients allow for the appointment?", "session", "session_length"),
    ("now I can't reach him. What do I do?", "referral", None),
    ("music tx sess length", "session", "session_length"),
    ("act avail by video or phone?", None, None),  # how sessions are held, not a number
    ("cbt phone number", "referral", "phone"),
    ("psych ax appt - how long to allow", "session", "session_length"),
    ("what will happen when they come?", "session", None),
    ("emdr how long b4 1st appt", "referral", "waiting_time"),  # b4, 1st: before, first
    # hours that something takes are no opening hours
    ("I can't stop washing my hands, it takes hours every night, what can help?", None, None),
    ("Is open weighing done at the start of eating disorder therapy sessions?", None, None),
    ("How long do long-term psychotherapy groups run, and what does slow-open mean?",
     "duration", "sessions"),
])
def test_intent_and_answer_type_follow_the_page_template(analyser: Analyser, question: str,
                                                          intent: str | None,
                                                          answer_type: str | None) -> None:
    query = analyser.analyse(question)
    assert (query.intent, query.answer_type) == (intent, answer_type)


@pytest.mark.parametrize(("question", "counted"), [
    ("crisis house how many beds?", ("beds",)),
    ("How many crisis house beds can the team access?", ("crisis", "house", "beds")),
    ("mbct practice day - how many hrs long?", ("hours",)),  # no opening hours; hrs read
    ("how many people would be there", ("people",)),
    ("grp therapy how many ppl per grp", ("people",)),  # "per grp" is not counted
])
def test_a_count_question_knows_what_it_counts(analyser: Analyser, question: str,
                                               counted: tuple[str, ...]) -> None:
    query = analyser.analyse(question)
    assert (query.answer_type, query.counted) == ("count", counted)


def test_a_count_is_stated_only_by_a_number_of_the_thing_counted(analyser: Analyser) -> None:
    rules = load_question_rules()
    beds = rules.answer_type_of(analyser.analyse("crisis house how many beds?"))
    assert beds is not None and beds.label == "the number of beds"
    assert beds.found_in("The crisis house has 6 beds.")
    assert not beds.found_in("Call 0808 157 0360 (24 hours a day, 7 days a week).")
    people = rules.answer_type_of(analyser.analyse("group thrpy how many ppl"))
    assert people is not None and people.found_in("Most groups have 6 to 10 members.")
    assert people.found_in("Groups of five to eight people meet weekly.")


@pytest.mark.parametrize(("question", "answer_type"), [
    ("cbt evening appts avail? pt works 9-5", "session_times"),
    ("soc skills grp - what day/time after school?", "session_times"),
    ("what day does the hearing voices group meet?", "session_times"),
    ("counselling sessions on saturdays?", "session_times"),
    ("is the referral line open in the evening?", "phone"),  # the line's hours
])
def test_when_sessions_are_held_is_not_when_the_line_is_open(analyser: Analyser, question: str,
                                                              answer_type: str) -> None:
    assert analyser.analyse(question).answer_type == answer_type


def test_shorthand_words_are_read_and_perinatal_alone_names_its_page() -> None:
    titles = [*TITLES, ("perinatal.pdf", "Perinatal mental health support")]
    own = Analyser(load_vocabulary(), document_names(titles), load_question_rules(),
                   lambda word: word.rstrip("s") in OUR_WORDS)
    query = own.analyse("perinatal email addr?")
    assert query.treatments == {"perinatal.pdf"} and query.answer_type == "email"
    assert own.analyse("tms sessn lenth").answer_type == "session_length"
    assert own.analyse("psych ax how long allow").answer_type == "session_length"


def test_a_clinicians_over_what_period_asks_how_long(analyser: Analyser) -> None:
    query = analyser.analyse("Over what overall period is a course of CBTp usually delivered?")
    assert (query.intent, query.answer_type) == ("duration", "sessions")
    assert analyser.analyse("what's the timeframe for a course of IPT?").intent == "duration"


def test_what_is_asked_is_read_from_the_asking_sentences(analyser: Analyser) -> None:
    # "waiting" in the story is not a question about waiting lists
    query = analyser.analyse(
        "since I got depressed I've stopped going to football and don't see my mates. I just "
        "lie on the sofa waiting to feel like doing something and it never comes. how is that "
        "ever meant to get better if I've got zero motivation?")
    assert query.intent != "referral" and not query.about_the_service
    assert "motiv" in query.asked_terms and "footbal" not in query.asked_terms
    assert query.story  # it describes a situation before it asks
    assert not analyser.analyse("how long is cbt? and is there a group?").story
    # a short message is all question, whatever its full stops
    assert analyser.analyse("central referals line no. + is it open sat?").answer_type == "phone"


@pytest.mark.parametrize(("question", "service"), [
    ("number to book?", True), ("r u open sat?", True), ("main line open sun?", True),
    ("cbt waitng time?", False),  # names a treatment
    ("my husband keeps checking the locks and the oven for an hour every night. he says he "
     "cannot relax until it's done. who do we call to get him help?", False),  # describes
])
def test_a_question_is_about_the_service_when_it_names_and_describes_nothing(
        analyser: Analyser, question: str, service: bool) -> None:
    assert analyser.analyse(question).about_the_service is service


def test_fillers_say_nothing_of_what_is_asked(analyser: Analyser) -> None:
    asked = analyser.analyse("wat r the 6 processes of act etc").asked_terms
    assert "process" in asked and not {"wat", "r", "etc"} & set(asked)


def test_a_description_of_a_person_is_not_a_question_about_age(analyser: Analyser) -> None:
    query = analyser.analyse("I'm a 41 year old woman and I copy how other people act")
    assert query.answer_type != "age"


@pytest.mark.parametrize(("question", "named"), [
    ("how long does CBT take", {"cbt.md"}),
    ("is cognitive behavioral therapy any good", {"cbt.md"}),
    ("shock treatment side effects", {"ect.pdf"}),  # a lay name, through the vocabulary
    ("does the walking group meet in winter", {"walk.txt"}),  # title without "therapy"
    ("is art any good for me", set()),  # one generic word alone names nothing
])
def test_treatments_named_by_title_acronym_or_lay_words(analyser: Analyser, question: str,
                                                        named: set[str]) -> None:
    assert analyser.analyse(question).treatments == named


@pytest.mark.parametrize(("text", "english"), [
    ("cbt waitng time?", True),
    ("ref line weekdays open til wat time", True),
    ("shout txt line no.?", True),
    ("quiero suicidarme esta noche", False),
    ("Nie chcę już żyć. Nie widzę w tym żadnego sensu.", False),
    ("أريد أن أموت", False),
    ("میں خودکشی کرنا چاہتا ہوں", False),
])
def test_language_english_unless_clearly_another(analyser: Analyser, text: str,
                                                 english: bool) -> None:
    assert analyser.analyse(text).english is english


def test_a_subject_is_added_only_when_the_question_names_no_treatment(
        analyser: Analyser) -> None:
    generic = analyser.analyse("who is it for?", subject="Art therapy")
    assert generic.text.endswith("(Art therapy)") and generic.treatments == {"art.html"}
    named = analyser.analyse("how long does CBT take", subject="Art therapy")
    assert named.treatments == {"cbt.md"} and "Art" not in named.text


def test_a_long_message_is_accepted_and_searched_by_its_question() -> None:
    story = "My appointment letter went to my old flat and the bus is always late. " * 60
    message = story + "How long is the wait for a first CBT appointment? " + story
    assert len(message) > 8_000
    text, excerpted = question_part(message)
    assert excerpted and len(text) <= MAX_QUERY_CHARS
    assert "How long is the wait for a first CBT appointment?" in text


def test_past_the_limit_the_message_is_refused_with_what_to_do(analyser: Analyser) -> None:
    with pytest.raises(QueryError, match="paste the part with the question"):
        analyser.analyse("x " * (MAX_MESSAGE_CHARS // 2 + 10))
    assert analyser.analyse("a " * 5_000).excerpted  # 10,000 characters: accepted


@pytest.mark.parametrize(("question", "named"), [
    ("cognitve behavioral therapy how long", {"cbt.md"}),
    ("electroconvulsiv therapy side effects", {"ect.pdf"}),
    ("walkng group therapy times", {"walk.txt"}),
    ("art therapy", {"art.html"}),
    ("act therapy", set()),  # "act" is not "art": short words must be spelt right
    ("cognitive dissonance therapy", set()),  # one word right is not the name
])
def test_a_misspelt_name_of_two_words_or_more_still_names_its_page(
        analyser: Analyser, question: str, named: set[str]) -> None:
    assert set(analyser.analyse(question).treatments) == named


def test_a_misspelt_asking_word_is_read_as_its_keyword_but_other_forms_are_kept(
        analyser: Analyser) -> None:
    assert analyser.analyse("dbt waitin time?").text == "dbt waiting time?"
    # another form of a keyword, a word of our pages, or a short one: left as typed
    for question in ("is it open at weekends?", "how long is the wait", "art grp ok?"):
        assert analyser.analyse(question).text == question


@pytest.mark.parametrize(("question", "unknown"), [
    ("do you offer hypnotherapy for stopping smoking", "hypnotherapy"),
    ("do you offer equine therapy?", "equine therapy"),
    ("is there a ketamine clinic", "ketamine clinic"),
    ("Do you offer ketamine infusions for treatment-resistant depression?", "ketamine infusions"),
    ("how long does CBT take", ""),  # ours
    ("does the walking group therapy meet in winter", ""),  # named: ours
    ("what is psychotherapy", ""),  # the vocabulary reads it as ours
    ("is group therapy any good", ""),  # a word of our pages before "therapy"
    ("tic clinic times?", ""),  # a word this short is not judged (shorthand)
])
def test_a_treatment_none_of_our_pages_mentions_is_recognised(
        analyser: Analyser, question: str, unknown: str) -> None:
    assert analyser.analyse(question).unknown_treatment == unknown


def test_one_distinctive_word_before_therapy_names_its_page_a_short_one_does_not() -> None:
    names = document_names([("psy.md", "Psychodynamic therapy"), ("art.html", "Art therapy"),
                            ("add.md", "Addiction treatment")])
    assert names["psychodynamic"] == {"psy.md"} and names["addiction"] == {"add.md"}
    assert "art" not in names


def test_a_title_for_whom_is_named_without_them_unless_that_names_another_page() -> None:
    names = document_names([("play.md", "Play therapy for children"),
                            ("ot.md", "Occupational therapy in mental health"),
                            ("cbt.md", "Cognitive behavioural therapy (CBT)"),
                            ("cbti.md", "CBT for insomnia (CBT-I)")])
    assert names["play therapy"] == {"play.md"}
    assert names["occupational therapy"] == {"ot.md"}
    assert names["cbt"] == {"cbt.md"}  # not also the insomnia page


def test_a_fused_treatment_name_our_pages_use_is_not_unknown() -> None:
    ours = {"physiotherapy", "group"}
    analyser = Analyser(load_vocabulary(), document_names(TITLES), load_question_rules(),
                        lambda word: word in ours)
    assert analyser.analyse("do you offer physiotherapy").unknown_treatment == ""
    assert analyser.analyse("do you offer hypnotherapy").unknown_treatment == "hypnotherapy"


@pytest.mark.parametrize(("question", "naming"), [
    ("Is art therapy contraindicated where there is coercive control?", {"art", "therapi"}),
    ("cbt suitable for panic?", {"cbt"}),  # an acronym
    ("is electroshock therapy still used", {"electroshock"}),  # a lay name
    ("does cognitive behavior therapy help", {"cognit", "behaviour", "therapi"}),  # spelt ours
    ("my son needs help with his mood", set()),
])
def test_the_words_that_name_a_treatment_are_told_apart_from_what_is_asked(
        analyser: Analyser, question: str, naming: set[str]) -> None:
    assert analyser.analyse(question).naming_terms == naming


@pytest.mark.parametrize(("question", "named"), [
    # an acronym in place of what it stands for names the page of the longer title
    ("From what age can children have trauma-focused CBT?", {"tfcbt.md"}),
    ("TF-CBT for a 7 year old?", {"tfcbt.md"}),
    # a name within a longer one names nothing of its own
    ("cbt for insomnia how long", {"cbti.md"}),
    ("what is trauma focused cognitive behavioral therapy", {"tfcbt.md"}),
    ("how long does CBT take", {"cbt.md"}),
    ("is cbt or cbt for insomnia better for sleep", {"cbt.md", "cbti.md"}),
    ("Is rTMS performed under general anaesthesia?", {"tms.md"}),  # rTMS is our TMS
])
def test_the_longest_name_in_a_question_names_its_page(analyser: Analyser, question: str,
                                                        named: set[str]) -> None:
    assert analyser.analyse(question).treatments == named


def test_a_treatment_described_in_lay_words_is_named() -> None:
    analyser = Analyser(load_vocabulary(), document_names(TITLES), load_question_rules(),
                        lambda word: False)
    query = analyser.analyse("they want to pass an electric current through my mum's brain")
    assert query.treatments == {"ect.pdf"}
