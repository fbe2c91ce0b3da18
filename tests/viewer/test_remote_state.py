"""A URL's stream without Qt (viewer.state.remote, viewer.presentation.network): arrival times
with the simulated link on top, how far a fetch goes, and what the viewer says of it."""
import pytest

from codec import container
from codec.net.plan import Want
from viewer.presentation.network import fetch_text, measured_rate, network_lines, placeholder_text
from viewer.presentation.streams import problem
from viewer.state.link import PLAYING, LinkClock, Playback
from viewer.state.remote import FetchPaused, FetchPiece, FetchStarted, RemoteState
from viewer.state.session import Stream
from viewer_helpers import layered

DATA = layered((100, 200, 300, 400))
HEADER = container.read_header(DATA)


def url_stream(want=Want()) -> Stream:
    """A stream of DATA from a URL with its header in after 0.1 s."""
    started = FetchStarted(DATA[:HEADER.size], HEADER, 0, 0.1, origin=50.0)
    return Stream.from_url(RemoteState("http://host:8080/dir/photo.strata", want), started)


def arrive(stream: Stream, end: int, seconds: float) -> None:
    parsed = container.parse_container(DATA[:end])
    stream.take(FetchPiece(DATA[len(stream.data):end], HEADER, len(parsed.layers), seconds, end, 2))


def test_a_url_stream_grows_with_its_pieces_and_knows_its_total():
    stream = url_stream()
    assert stream.path.name == "photo.strata" and stream.total == len(DATA) and not stream.complete
    arrive(stream, HEADER.layer_offset(2) + 5, 0.5)
    assert stream.intact_layers == 2 and stream.total == len(DATA)
    assert stream.remote.network_time(HEADER.layer_offset(2)) == 0.5
    chunk, completed = stream.advance(10**9)
    assert chunk == DATA[:HEADER.layer_offset(2) + 5] and completed == [0, 1]
    assert not stream.complete  # the fetch goes on: playback keeps delivering
    stream.remote.paused(FetchPaused(None, False, ""))
    assert stream.complete and len(stream.data) < stream.total  # all delivered that was asked for


def test_a_layer_arrives_when_both_the_network_and_the_simulated_link_brought_it():
    stream = url_stream()
    arrive(stream, len(DATA), 0.4)
    slow = LinkClock(8_000)  # 1000 bytes/s: the link is slower than the network
    end = HEADER.layer_offset(3)
    assert stream.remote.arrival(end, slow.time_of(end)) == pytest.approx(0.1 + end / 1000)
    fast = LinkClock(1e12)
    assert stream.remote.arrival(end, fast.time_of(end)) == pytest.approx(0.4)
    stream.remote.restart(wall=50.0 + 2.0)  # R, two seconds after the first request: a replay
    assert stream.remote.arrival(end, slow.time_of(end)) == pytest.approx(end / 1000)


def test_a_fetch_covers_what_it_was_asked_for():
    remote = url_stream(Want(layers=2)).remote
    assert remote.covers(HEADER, Want(layers=1)) and remote.covers(HEADER, Want(max_bytes=HEADER.layer_offset(2)))
    assert not remote.covers(HEADER, Want(layers=3)) and not remote.covers(HEADER, Want())
    remote.asked(Want())
    assert remote.covers(HEADER, Want(layers=4)) and remote.pending == 2


def test_what_a_url_stream_says_while_fetching_at_a_limit_and_when_broken():
    stream = url_stream(Want(layers=2))
    assert placeholder_text(stream) == f"Fetching layer 1 from host:8080… ({HEADER.size:,} of {HEADER.layer_offset(1):,} bytes)"
    arrive(stream, HEADER.layer_offset(2), 1.1)
    assert fetch_text(stream).startswith("fetching the first 2 layers from host:8080: ")
    assert "measured" in fetch_text(stream)
    stream.remote.paused(FetchPaused(None, False, ""))
    assert fetch_text(stream) == "2 of 4 layers fetched (the limit): move the slider for more"
    stream.remote.paused(FetchPaused("the connection was lost; layers 3–4 are missing", True, ""))
    assert "broke off after 2 of 4 layers" in fetch_text(stream) and stream.usable_layers == 2
    assert problem(stream) is None  # said when it happened, not as damage of the file


def test_measured_throughput_in_words():
    stream = url_stream()
    arrive(stream, len(DATA), 1.1)  # the bytes after the header in one second
    assert stream.remote.rate() == pytest.approx(8 * (len(DATA) - HEADER.size))
    assert measured_rate(2_500_000) == "2.5 Mbit/s measured" and measured_rate(None) == "rate not measured yet"
    line = network_lines([(0, stream)])[0]
    assert line.startswith("A: photo.strata from host:8080: ") and "(2 requests" in line


def test_the_simulated_link_holding_a_layer_back_is_said():
    from viewer.presentation.network import remote_activity

    stream = url_stream()
    arrive(stream, len(DATA), 0.2)
    playback = Playback(PLAYING, 8_000, LinkClock(8_000), 0.0)
    assert "layer 1 is in; the simulated 8 kbit/s link brings it in" in " ".join(remote_activity(stream, playback))
