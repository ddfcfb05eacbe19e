"""Every hostile file is reported with its own reason and skipped; the good ones go in."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import Settings, build_index, open_index
from search.errors import LoadError
from search.loaders import load_document, read_file

from .hostile_gallery import EXPECTED, PDF_TIMEOUT_SECONDS, build_gallery, expected_reason

SETTINGS = Settings(pdf_timeout_seconds=PDF_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "gallery"
    build_gallery(folder)
    return folder


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "copy-b.md"])
def test_each_file_loads_or_fails_with_its_reason(gallery: Path, name: str) -> None:
    path = gallery / name
    expected = expected_reason(name)
    try:
        document = load_document(path, name, SETTINGS, read_file(path, SETTINGS.max_file_bytes))
    except LoadError as error:
        assert error.reason == expected, str(error)
        return
    assert expected is None, f"{name} went in; expected {expected}"
    for leak in ("alert(", "<script", "onerror", "document.write"):
        assert leak not in document.text


@pytest.mark.model
def test_ingesting_the_gallery_beside_good_pages(gallery: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good"
    good.mkdir()
    (good / "walking.md").write_text("# Walking group\n\n## Who is it for?\n\nAdults with "
                                     "low mood who like to be outdoors.\n")
    report = build_index([gallery, good], tmp_path / "index", SETTINGS, embedder=embedder)
    assert report.exit_code == 2 and report.published
    reasons = {f.source: f.reason for f in report.failed}
    assert reasons == {n: r for n in EXPECTED if (r := expected_reason(n)) is not None}
    went_in = {n for n in EXPECTED if expected_reason(n) is None} | {"walking.md"}
    assert set(report.added) == went_in
    assert set(open_index(tmp_path / "index").documents) == went_in


def test_a_link_out_of_the_content_folder_is_reported_not_read(tmp_path: Path) -> None:
    from search.discovery import discover

    outside = tmp_path / "secret.txt"
    outside.write_text("the server's private notes\n")
    content = tmp_path / "content"
    (content / "sub").mkdir(parents=True)
    (content / "page.md").write_text("# Page\n\nText.\n")
    (content / "leak.txt").symlink_to(outside)
    (content / "status.txt").symlink_to("/proc/self/status")
    (content / "sub" / "alias.md").symlink_to(content / "page.md")  # inside: kept
    files, failures = discover([content], Settings())
    assert [f.source for f in files] == ["page.md", "sub/alias.md"]
    assert {f.source: f.reason for f in failures} == {"leak.txt": "link-outside-folder",
                                                      "status.txt": "link-outside-folder"}
    assert all("copy the file into the folder" in f.message for f in failures)


def test_office_documents_in_a_folder_are_reported_as_unsupported(tmp_path: Path) -> None:
    from search.discovery import discover

    for name in ("cbt.docx", "deck.pptx", "rota.xlsx", "old.doc", "page.odt", "macro.docm",
                 "photo.png"):
        (tmp_path / name).write_bytes(b"PK\x03\x04")
    files, failures = discover([tmp_path], Settings())
    assert [f.source for f in files] == ["cbt.docx"]  # Word pages are read
    messages = {f.source: f.message for f in failures if f.reason == "unsupported-type"}
    assert set(messages) == {"deck.pptx", "old.doc", "page.odt", "rota.xlsx", "macro.docm"}
    assert len(failures) == 5  # an image is not a page: skipped without a word
    assert "save it as .docx" in messages["old.doc"]
    assert "save it as .docx without macros" in messages["macro.docm"]
    assert "slides are not pages" in messages["deck.pptx"]
    assert "a spreadsheet is not a page" in messages["rota.xlsx"]
    assert all("the formats read are" in m and ".docx" in m for m in messages.values())


def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_go_in(tmp_path: Path) -> None:
    import os

    from search.discovery import discover

    (tmp_path / "page.md").write_text("# Page\n\nText.\n")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.md"), "wb") as handle:
        handle.write(b"# Cafe\n\nA page.\n")
    files, failures = discover([tmp_path], Settings())
    assert [f.source for f in files] == ["page.md"]
    (failure,) = failures
    assert failure.reason == "bad-file-name" and "rename the file" in failure.message
    failure.source.encode("utf-8")  # shown with U+FFFD, storable and printable
