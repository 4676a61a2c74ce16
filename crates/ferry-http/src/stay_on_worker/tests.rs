use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::{MOST_REPOLLS, stay_on_worker};

/// A task's waker that counts its wakes.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wakes itself during its first `times` polls, then is ready.
struct WakesItself {
    times: usize,
    polls: Arc<AtomicUsize>,
}

impl Future for WakesItself {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.times == 0 {
            return Poll::Ready("done");
        }
        self.times -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn task_waker() -> (Arc<Counting>, Waker) {
    let counting = Arc::new(Counting::default());
    (Arc::clone(&counting), Waker::from(counting))
}

#[test]
fn a_wake_during_the_poll_is_a_poll_again_not_a_trip_through_the_scheduler() {
    let polls = Arc::new(AtomicUsize::new(0));
    // As many wakes as it may be polled again for: it ends within this one poll.
    let mut future = stay_on_worker(WakesItself {
        times: MOST_REPOLLS,
        polls: Arc::clone(&polls),
    });
    let (woken, waker) = task_waker();
    let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
    assert_eq!(polled, Poll::Ready("done"));
    assert_eq!(polls.load(Ordering::SeqCst), MOST_REPOLLS + 1);
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        0,
        "the task was never handed back"
    );
}

#[test]
fn a_future_that_keeps_waking_itself_yields_after_a_bounded_number_of_polls() {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut future = stay_on_worker(WakesItself {
        times: usize::MAX,
        polls: Arc::clone(&polls),
    });
    let (woken, waker) = task_waker();
    let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
    assert_eq!(polled, Poll::Pending);
    assert_eq!(polls.load(Ordering::SeqCst), MOST_REPOLLS + 1);
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        1,
        "it yields as tokio would"
    );
}

/// Keeps the waker it is polled with and is ready once that waker was used.
struct WokenLater {
    kept: Arc<std::sync::Mutex<Option<Waker>>>,
    polls: usize,
}

impl Future for WokenLater {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        if self.polls > 1 {
            return Poll::Ready(());
        }
        *self.kept.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_wake_between_polls_reaches_the_task_from_another_thread() {
    let kept = Arc::new(std::sync::Mutex::new(None));
    let mut future = stay_on_worker(WokenLater {
        kept: Arc::clone(&kept),
        polls: 0,
    });
    let (woken, waker) = task_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(Pin::new(&mut future).poll(&mut cx), Poll::Pending);
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    let stored = kept
        .lock()
        .unwrap()
        .take()
        .expect("the inner future kept a waker");
    std::thread::spawn(move || stored.wake()).join().unwrap();
    assert_eq!(woken.0.load(Ordering::SeqCst), 1, "the task was woken");
    assert_eq!(Pin::new(&mut future).poll(&mut cx), Poll::Ready(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_between_two_tasks_still_delivers_everything() {
    // The inner future waits on a channel fed by another task: every wake comes from
    // outside its poll, through the scheduler.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
    let sum = tokio::spawn(stay_on_worker(async move {
        let mut sum = 0u64;
        while let Some(n) = rx.recv().await {
            sum += u64::from(n);
        }
        sum
    }));
    for n in 0..10_000u32 {
        tx.send(n).await.unwrap();
    }
    drop(tx);
    assert_eq!(sum.await.unwrap(), (0..10_000u64).sum::<u64>());
}
