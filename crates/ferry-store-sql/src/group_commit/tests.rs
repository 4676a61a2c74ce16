//! Group commit against a real SQLite file: shared commits, changes undone alone, a failed
//! commit failing every member, failed grouped changes waiting, solo changes, FIFO turns.

use super::*;
use sqlx::any::AnyPoolOptions;

async fn pool(dir: &tempfile::TempDir) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .unwrap();
    for ddl in [
        "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
        "CREATE TABLE rows (id INTEGER PRIMARY KEY, parent INTEGER \
         REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO parents (id) VALUES (1)",
    ] {
        sqlx::query(ddl).execute(&pool).await.unwrap();
    }
    pool
}

async fn insert(turn: &mut Turn, id: i64, parent: i64) {
    sqlx::query("INSERT INTO rows (id, parent) VALUES ($1, $2)")
        .bind(id)
        .bind(parent)
        .execute(turn.conn())
        .await
        .unwrap();
}

async fn ids(pool: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM rows ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Lets spawned tasks reach their wait.
async fn settle_tasks() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_that_come_together_share_a_commit_and_each_returns_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    // Alone, a change commits at once.
    let mut alone = group.change(true).await.unwrap();
    insert(&mut alone, 100, 1).await;
    alone.commit().await.unwrap();
    assert_eq!(group.committed(), (1, 1));
    assert_eq!(ids(&pool).await, vec![100]);

    // Twenty changes queued behind a turn: they go one by one, and share commits.
    let held = group.turn().await.unwrap();
    let mut tasks = Vec::new();
    for id in 0..20 {
        let (group, pool) = (group.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut turn = group.change(true).await.unwrap();
            insert(&mut turn, id, 1).await;
            turn.commit().await.unwrap();
            // Acknowledged: it is committed, so every reader sees it.
            let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(seen, 1);
        }));
        settle_tasks().await;
    }
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    let (batches, changes) = group.committed();
    assert_eq!(changes, 21);
    assert!(
        batches < 6,
        "{batches} commits for 20 changes queued together"
    );
    assert_eq!(ids(&pool).await.len(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_dropped_or_failed_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    let held = group.turn().await.unwrap();
    let spawn_change = |id: i64, keep: bool| {
        let group = group.clone();
        tokio::spawn(async move {
            let mut turn = group.change(true).await.unwrap();
            insert(&mut turn, id, 1).await;
            if keep {
                turn.commit().await.unwrap();
            } else {
                // A unique violation fails a statement; the change then gives up.
                let again = sqlx::query("INSERT INTO rows (id, parent) VALUES ($1, 1)")
                    .bind(id)
                    .execute(turn.conn())
                    .await;
                assert!(again.is_err());
                drop(turn);
            }
        })
    };
    let a = spawn_change(1, true);
    settle_tasks().await;
    let b = spawn_change(2, false);
    settle_tasks().await;
    let c = spawn_change(3, true);
    settle_tasks().await;
    drop(held);
    for t in [a, b, c] {
        t.await.unwrap();
    }
    assert_eq!(ids(&pool).await, vec![1, 3]);

    // A change that fails after one that ended keeps its savepoint until the next `SAVEPOINT`
    // (`Batch::unreleased`): it is undone to its own, and what the one before wrote stays.
    let held = group.turn().await.unwrap();
    let mut changes = Vec::new();
    for (id, keep) in [(11, true), (12, true), (13, false), (14, true)] {
        changes.push(spawn_change(id, keep));
        settle_tasks().await;
    }
    drop(held);
    for t in changes {
        t.await.unwrap();
    }
    assert_eq!(ids(&pool).await, vec![1, 3, 11, 12, 14]);
    sqlx::query("DELETE FROM rows WHERE id > 10")
        .execute(&pool)
        .await
        .unwrap();

    // The last change of a batch dropped while the others wait: they are still committed.
    let held = group.turn().await.unwrap();
    let d = spawn_change(4, true);
    settle_tasks().await;
    let e = spawn_change(5, false);
    settle_tasks().await;
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), async {
        d.await.unwrap();
        e.await.unwrap();
    })
    .await
    .expect("a member waited for a commit nobody made");
    assert_eq!(ids(&pool).await, vec![1, 3, 4]);

    // A batch's first change (no savepoint) dropped alone: rolled back at once, so the
    // write lock goes with it and another connection writes.
    let mut first = group.change(true).await.unwrap();
    insert(&mut first, 6, 1).await;
    drop(first);
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("INSERT INTO parents (id) VALUES (2)").execute(&pool),
    )
    .await
    .expect("the dropped change kept the write lock")
    .unwrap();
    let mut next = group.change(true).await.unwrap();
    insert(&mut next, 7, 2).await;
    next.commit().await.unwrap();
    assert_eq!(ids(&pool).await, vec![1, 3, 4, 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_commit_fails_every_member_fails_and_nothing_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    let held = group.turn().await.unwrap();
    let spawn_change = |id: i64, parent: i64| {
        let group = group.clone();
        tokio::spawn(async move {
            let mut turn = group.change(true).await.unwrap();
            insert(&mut turn, id, parent).await;
            turn.commit().await
        })
    };
    // The second row names a parent that does not exist: a deferred rule, checked only
    // when the batch commits.
    let good = spawn_change(1, 1);
    settle_tasks().await;
    let bad = spawn_change(2, 99);
    settle_tasks().await;
    drop(held);
    assert!(
        good.await.unwrap().is_err(),
        "acknowledged though not committed"
    );
    assert!(bad.await.unwrap().is_err());
    assert!(ids(&pool).await.is_empty());
    // The next change starts a new batch and commits.
    let mut next = group.change(true).await.unwrap();
    insert(&mut next, 3, 1).await;
    next.commit().await.unwrap();
    assert_eq!(ids(&pool).await, vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_grouped_change_returns_only_once_what_it_saw_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    let held = group.turn().await.unwrap();
    let first = {
        let group = group.clone();
        tokio::spawn(async move {
            let mut turn = group.change(true).await.unwrap();
            insert(&mut turn, 1, 1).await;
            turn.commit().await.unwrap();
        })
    };
    settle_tasks().await;
    let second = {
        let (group, pool) = (group.clone(), pool.clone());
        tokio::spawn(async move {
            let mut turn = group.change(true).await.unwrap();
            // It sees the first change's row (not yet durable) and fails on it...
            let clash = sqlx::query("INSERT INTO rows (id, parent) VALUES (1, 1)")
                .execute(turn.conn())
                .await;
            assert!(clash.is_err());
            turn.rollback().await;
            // ...and by the time it says so, that row is durable: every reader sees it.
            let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows WHERE id = 1")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(seen, 1, "the failure told of a row nobody else could see");
        })
    };
    settle_tasks().await;
    drop(held);
    first.await.unwrap();
    second.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solo_change_commits_the_open_batch_first_and_itself_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    let held = group.turn().await.unwrap();
    let mut tasks = Vec::new();
    for (id, grouped) in [(1, true), (2, true), (3, false), (4, true)] {
        let (group, pool) = (group.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut turn = group.change(grouped).await.unwrap();
            if !grouped {
                // What a solo change reads is durable: the grouped ones before it are.
                let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(before, 2);
            }
            insert(&mut turn, id, 1).await;
            turn.commit().await.unwrap();
        }));
        settle_tasks().await;
    }
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    // 1 and 2 together, 3 alone (though 4 waited), then 4.
    assert_eq!(group.committed(), (3, 4));
    assert_eq!(ids(&pool).await, vec![1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_take_turns_in_the_order_they_came() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupCommit::new(pool(&dir).await, Engine::Sqlite);
    let first = group.turn().await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    for i in 0..5 {
        let (group, order) = (group.clone(), Arc::clone(&order));
        waiting.push(tokio::spawn(async move {
            let _turn = group.turn().await.unwrap();
            order.lock().unwrap().push(i);
        }));
        settle_tasks().await;
    }
    drop(first);
    for w in waiting {
        w.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_batchs_first_change_before_it_writes_may_read_what_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir).await;
    let group = GroupCommit::new(pool.clone(), Engine::Sqlite);
    let mut first = group.change(true).await.unwrap();
    assert!(first.reads_committed(), "a batch's first change, untouched");
    insert(&mut first, 1, 1).await;
    assert!(!first.reads_committed(), "once it has written");
    // A change queued meanwhile joins the same batch: the committed database does not have
    // the first change's row, the batch's connection does.
    let second = {
        let group = group.clone();
        tokio::spawn(async move {
            let turn = group.change(true).await.unwrap();
            let reads = turn.reads_committed();
            turn.commit().await.unwrap();
            reads
        })
    };
    while group.shared.waiting.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (first_done, second_reads) = tokio::join!(first.commit(), second);
    first_done.unwrap();
    // The first change commits its batch alone if it is older than OLDEST by then (a slow
    // machine): then the second began the next batch and may read the committed database.
    let shared = group.committed() == (1, 2);
    assert_eq!(
        second_reads.unwrap(),
        !shared,
        "a later member of the batch may not"
    );
    // The next batch's first change may again; a turn outside any change may not.
    let solo = group.change(false).await.unwrap();
    assert!(solo.reads_committed());
    solo.commit().await.unwrap();
    let turn = group.turn().await.unwrap();
    assert!(!turn.reads_committed());
}
