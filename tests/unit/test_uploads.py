import pytest

from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.uploads import parse_options, validate_upload

SETTINGS = Settings(max_upload_bytes=1000)  # the local registry: tiny.en (English) and base (multilingual)


def code_of(**kwargs) -> str:
    args = {"name": "users/u/a.wav", "content_type": "audio/wav", "size": 10, "metadata": {}, **kwargs}
    with pytest.raises(PermanentError) as info:
        validate_upload(settings=SETTINGS, **args)
    return info.value.code


@pytest.mark.parametrize(
    "name",
    ["", "/abs.wav", "dir/", "a/../b.wav", "a//b.wav", "./a.wav", "a\x00b.wav", "a\nb.wav", "x" * 1030 + ".wav", "e\u0301.wav"],
)
def test_bad_object_names(name):
    assert code_of(name=name) is ErrorCode.INVALID_OBJECT_NAME


@pytest.mark.parametrize("name", ["a.txt", "a.exe", "noext", "a.wav.zip", "a.pdf"])
def test_disallowed_extensions(name):
    assert code_of(name=name) is ErrorCode.UNSUPPORTED_FORMAT


@pytest.mark.parametrize("content_type", ["text/plain", "text/html", "application/pdf", "application/zip", "image/png"])
def test_disallowed_content_types(content_type):
    assert code_of(content_type=content_type) is ErrorCode.UNSUPPORTED_CONTENT_TYPE


def test_sizes():
    assert code_of(size=0) is ErrorCode.EMPTY_AUDIO
    assert code_of(size=1001) is ErrorCode.FILE_TOO_LARGE


@pytest.mark.parametrize(
    "metadata",
    [
        {"model": "large-v9"},
        {"model": "small"},  # a model of the cloud registry, not of this one
        {"language": "xx"},
        {"model": "tiny.en", "language": "de"},
        {"priority": "urgent"},
        {"notes": "maybe"},
        {"channels": "a,b c"},
        {"channels": ",".join("abcdefghi")},
    ],
)
def test_options_outside_the_allow_list(metadata):
    assert code_of(metadata=metadata) is ErrorCode.INVALID_OPTION


def test_good_upload_with_options():
    options = validate_upload(
        "users/ünï/Mé eting.m4a",
        "audio/mp4; codecs=mp4a",
        999,
        {"Model": "base", "language": "de", "priority": "batch", "notes": "false", "channels": "host, guest", "device": "ag06"},
        SETTINGS,
    )
    assert (options.model, options.language, options.priority, options.notes, options.channels) == (
        "base",
        "de",
        "batch",
        False,
        ("host", "guest"),
    )


def test_defaults():
    options = parse_options(None, SETTINGS)
    assert (options.model, options.language, options.priority, options.notes, options.channels) == (
        "tiny.en",
        "auto",
        "normal",
        True,
        (),
    )
