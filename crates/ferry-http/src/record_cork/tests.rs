use super::*;
use tokio::io::AsyncWriteExt;

/// A stream that records what each write handed it, takes at most `limit` bytes a write,
/// and answers every `pending_every`-th write with `Pending` (waking at once).
#[derive(Default)]
struct Sink {
    writes: Vec<usize>,
    bytes: Vec<u8>,
    limit: Option<usize>,
    pending_every: Option<usize>,
    calls: usize,
    flushes: usize,
    shut: bool,
}

impl AsyncRead for Sink {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.calls += 1;
        if this
            .pending_every
            .is_some_and(|k| this.calls.is_multiple_of(k))
        {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut room = this.limit.unwrap_or(usize::MAX);
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(room);
            this.bytes.extend_from_slice(&b[..take]);
            room -= take;
            n += take;
        }
        this.writes.push(n);
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shut = true;
        Poll::Ready(Ok(()))
    }
}

/// What h2 writes for a DATA frame of 16 KiB: its 9-byte head and the payload, two slices.
fn frames(count: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let head = vec![i as u8; 9];
            let payload = (0..RECORD).map(|j| (i * 31 + j) as u8).collect();
            (head, payload)
        })
        .collect()
}

/// Writes the frames as h2 does (one vectored write and a flush each), then ends the turn.
async fn write_frames(corked: &mut Corked<Sink>, frames: &[(Vec<u8>, Vec<u8>)]) {
    for (head, payload) in frames {
        let mut slices = [IoSlice::new(head), IoSlice::new(payload)];
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let n = corked.write_vectored(slices).await.unwrap();
            IoSlice::advance_slices(&mut slices, n);
        }
        corked.flush().await.unwrap();
    }
}

fn sent(frames: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    frames
        .iter()
        .flat_map(|(h, p)| h.iter().chain(p))
        .copied()
        .collect()
}

#[tokio::test]
async fn frames_reach_the_stream_as_whole_records_and_the_rest_at_the_end_of_the_turn() {
    let (mut corked, uncork) = cork(Sink::default());
    let frames = frames(20);
    let state = Arc::clone(&uncork.state);
    uncorking(write_frames(&mut corked, &frames), uncork).await;
    let state = lock(&state);
    let sink = &state.stream;
    assert!(sink.bytes == sent(&frames), "every byte, in order");
    let (last, whole) = sink.writes.split_last().unwrap();
    assert!(
        whole.iter().all(|&n| n % RECORD == 0),
        "whole records while the frames came: {whole:?}"
    );
    assert_eq!(*last, 20 * 9, "the remainder, when the turn ended");
    assert!(state.held.is_empty());
}

#[tokio::test]
async fn a_stream_that_takes_less_or_pushes_back_still_gets_every_byte_once() {
    for (limit, pending_every) in [
        (Some(5_000), None),
        (None, Some(3)),
        (Some(20_000), Some(2)),
    ] {
        let sink = Sink {
            limit,
            pending_every,
            ..Sink::default()
        };
        let (mut corked, uncork) = cork(sink);
        let frames = frames(7);
        let state = Arc::clone(&uncork.state);
        // A connection's last turn ends with a shutdown, which sends what is held whatever
        // the stream's pushing back.
        let serve = async {
            write_frames(&mut corked, &frames).await;
            corked.shutdown().await.unwrap();
        };
        uncorking(serve, uncork).await;
        let state = lock(&state);
        assert!(
            state.stream.bytes == sent(&frames),
            "{limit:?} {pending_every:?}"
        );
        assert!(state.stream.shut);
    }
}

#[tokio::test]
async fn a_flush_after_a_small_write_sends_everything() {
    let (mut corked, uncork) = cork(Sink::default());
    corked.write_all(b"WINDOW_UPDATE").await.unwrap();
    assert!(
        lock(&uncork.state).stream.bytes.is_empty(),
        "held until the flush"
    );
    corked.flush().await.unwrap();
    assert_eq!(lock(&uncork.state).stream.bytes, b"WINDOW_UPDATE");
    // In full flow the remainder waits for the next frame; after the response's last, smaller
    // frame a flush sends it all.
    let frame = vec![1u8; RECORD + 9];
    corked.write_all(&frame).await.unwrap();
    corked.flush().await.unwrap();
    assert_eq!(lock(&uncork.state).stream.bytes.len(), 13 + RECORD);
    corked.write_all(b"last").await.unwrap();
    corked.flush().await.unwrap();
    assert_eq!(lock(&uncork.state).stream.bytes.len(), 13 + RECORD + 9 + 4);
}

#[tokio::test]
async fn shutdown_sends_what_is_held_first() {
    let (mut corked, uncork) = cork(Sink::default());
    corked.write_all(&vec![2u8; RECORD + 5]).await.unwrap();
    corked.flush().await.unwrap();
    assert_eq!(lock(&uncork.state).stream.bytes.len(), RECORD);
    corked.shutdown().await.unwrap();
    let state = lock(&uncork.state);
    assert_eq!(state.stream.bytes.len(), RECORD + 5);
    assert!(state.stream.shut);
}

#[tokio::test]
async fn nothing_outlives_the_turn_that_wrote_it() {
    let (mut corked, uncork) = cork(Sink::default());
    let state = Arc::clone(&uncork.state);
    // A turn that writes a DATA frame and then waits, as a connection does for the client's
    // window.
    let serve = async {
        corked.write_all(&vec![3u8; RECORD + 7]).await.unwrap();
        corked.flush().await.unwrap();
        std::future::pending::<()>().await
    };
    let turn = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        uncorking(serve, uncork),
    );
    assert!(turn.await.is_err(), "the serving future never ends");
    assert_eq!(lock(&state).stream.bytes.len(), RECORD + 7);
}
