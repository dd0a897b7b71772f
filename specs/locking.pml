/*
 * vroom's locking protocol, as Promela, checked exhaustively by Spin
 * (model-tests/spin_model.rs runs it as part of `cargo test`).
 *
 * Four requests race on one room with publishers P0 and P1 (both joined, P0 published, its
 * media not up yet) and a newcomer J:
 *   MediaUp  P0's PeerConnection comes up: P0 becomes a feed, the room is told (Janus #3463's
 *            notify side).
 *   List     listparticipants (#3463's other side).
 *   Join     J joins: it learns of P0 in `joined` if P0 is a feed, else from the notification.
 *   Destroy  the room is destroyed: every member hears it once, nothing joins afterwards.
 *
 * Locks are taken in the order of src/sync/levels.rs: handle -> registry -> room -> publisher.
 * The registry is never held while the room is taken (JCB-07). Events are decided under the
 * locks and delivered after release (the counters are bumped after the unlocks).
 *
 * With -DINVERTED=1, MediaUp takes the publisher before the room, as Janus did between #3446
 * and #3474: Spin must then report the deadlock (an invalid end state).
 */
#ifndef INVERTED
#define INVERTED 0
#endif

#define NPUB 2
#define J 2

/* reader-writer locks (registry, room) and mutexes (handles, publishers) */
bit registry_w; byte registry_r;
bit room_w; byte room_r;
bit pub_lock[NPUB];
bit handle_lock[3];

inline mlock(m)        { atomic { m == 0 -> m = 1 } }
inline munlock(m)      { m = 0 }
inline rlock(w, r)     { atomic { w == 0 -> r++ } }
inline runlock(r)      { r-- }
inline wlock(w, r)     { atomic { w == 0 && r == 0 -> w = 1 } }
inline wunlock(w)      { w = 0 }

/* room state */
bit in_registry = 1;
bit destroyed;
bit member[3];
bit is_feed[NPUB];

/* what was delivered (after release) */
byte told_j;             /* times J learned of P0 as a feed */
byte destroyed_heard[3]; /* `destroyed` events per participant */
byte finished;           /* NB: a global named `done` breaks pan.c */

proctype MediaUp() {
    bit tell_j = 0;
    mlock(handle_lock[0]);
#if INVERTED
    mlock(pub_lock[0]);
    wlock(room_w, room_r);
#else
    wlock(room_w, room_r);
    mlock(pub_lock[0]);
#endif
    if
    :: !destroyed && member[0] && !is_feed[0] -> is_feed[0] = 1; tell_j = member[J]
    :: else -> skip
    fi;
    munlock(pub_lock[0]);
    wunlock(room_w);
    munlock(handle_lock[0]);
    if
    :: tell_j -> told_j++
    :: else -> skip
    fi;
    finished++
}

proctype List() {
    byte i = 0;
    rlock(room_w, room_r);
    do
    :: i < NPUB -> mlock(pub_lock[i]); munlock(pub_lock[i]); i++
    :: else -> break
    od;
    runlock(room_r);
    finished++
}

proctype Join() {
    bit found = 0;
    bit saw = 0;
    mlock(handle_lock[J]);
    rlock(registry_w, registry_r);
    found = in_registry;
    runlock(registry_r);
    if
    :: found ->
        wlock(room_w, room_r);
        if
        :: !destroyed ->
            mlock(pub_lock[0]); saw = is_feed[0]; munlock(pub_lock[0]);
            mlock(pub_lock[1]); munlock(pub_lock[1]);
            member[J] = 1
        :: else -> skip
        fi;
        wunlock(room_w)
    :: else -> skip
    fi;
    munlock(handle_lock[J]);
    if
    :: saw -> told_j++
    :: else -> skip
    fi;
    finished++
}

proctype Destroy() {
    bit found = 0;
    bit won = 0;
    bit heard[3];
    byte i = 0;
    rlock(registry_w, registry_r);
    found = in_registry;
    runlock(registry_r);
    if
    :: found ->
        wlock(room_w, room_r);
        if
        :: !destroyed ->
            destroyed = 1; won = 1;
            do
            :: i < 3 ->
                if
                :: member[i] && i < NPUB -> heard[i] = 1; mlock(pub_lock[i]); munlock(pub_lock[i])
                :: member[i] && i >= NPUB -> heard[i] = 1
                :: else -> skip
                fi;
                i++
            :: else -> break
            od
        :: else -> skip
        fi;
        wunlock(room_w);
        if
        :: won -> wlock(registry_w, registry_r); in_registry = 0; wunlock(registry_w)
        :: else -> skip
        fi
    :: else -> skip
    fi;
    i = 0;
    do
    :: i < 3 -> if :: heard[i] -> destroyed_heard[i]++ :: else -> skip fi; i++
    :: else -> break
    od;
    finished++
}

init {
    atomic {
        member[0] = 1; member[1] = 1;
        run MediaUp(); run List(); run Join(); run Destroy()
    }
    finished == 4;
    /* every lock is free again */
    assert(registry_w == 0 && registry_r == 0 && room_w == 0 && room_r == 0);
    assert(pub_lock[0] == 0 && pub_lock[1] == 0);
    /* J learns of P0 at most once, and exactly once if it joined and P0 became a feed */
    assert(told_j <= 1);
    assert(!(member[J] && is_feed[0]) || told_j == 1);
    /* every member hears `destroyed` exactly once; nothing joined after the destroy */
    assert(destroyed_heard[0] == 1 && destroyed_heard[1] == 1);
    assert(destroyed_heard[J] == member[J])
}
