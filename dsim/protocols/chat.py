"""The clocks chapter's scenarios: a group chat, a shopping cart, usernames.

Three small systems where the order of events matters, each stamped with
Lamport and vector clocks (``dsim.clocks.Stamper``) on every send and
deliver, so the diagram can show both clocks on the same run.

- Group chat (``clocks-chat``, ``clocks-lost``): people post to
  everyone, and some posts answer others. A reply read before the
  question it answers confuses its reader. With ``causal=True`` each post
  carries a vector of the posts its author had read, and a reader holds
  a post back until everything it depends on has been shown: causal
  broadcast (Birman, Schiper and Stephenson, 1991). ``clocks-lost`` loses
  one question on the way, and shows the price of that rule: the reply
  waits forever.
- Shopping cart (``clocks-cart``): three replicas of one key, written
  concurrently. Each version carries a version vector; a replica keeps
  every version no other version supersedes, as siblings, the way Dynamo
  (DeCandia et al., 2007) detects concurrent writes to one key.
- Usernames (``clocks-usernames``): two servers accept a claim on the
  same name. Ordering claims by Lamport clock picks a winner everyone
  agrees on, but only once every server has been heard from; a server
  that grants a name on the spot may have to take it back (DDIA,
  chapter 9, "Lamport timestamps are not sufficient").

Limitations: the chat protocol does not retransmit, so a lost post is
lost for good; the scripts are fixed, so the learner varies a run with
faults and seeds, not with new posts. In the username protocol a crashed
server that never returns leaves every claim pending.
"""

from ..clocks import LamportClock, Stamper, VectorClock
from ..kernel import Node
from ..network import Faults, PerLink, Uniform
from ..scenario import Scenario, register

PEOPLE = ("alice", "bob", "carol")

# What each person posts on their own, at what time.
POSTS = {"alice": [(0.10, "Lunch at noon?")],
         "carol": [(0.12, "Has anyone seen my stapler?")]}

# What each person answers when they read a given post.
REPLIES = {"bob": {"alice#1": "Noon works for me."},
           "alice": {"carol#1": "Not me, sorry."}}

CHAT_LATENCY = PerLink({("alice", "carol"): Uniform(0.25, 0.35)},
                       default=Uniform(0.02, 0.08))


class ChatMember(Node):
    """A person in the group chat: posts, reads and sometimes answers.

    Records ``status`` (``reading``; ``confused`` after reading a reply
    before its question; ``waiting`` while holding posts back), ``last``
    (the post shown last) and ``shown`` (how many posts are on screen).
    """

    def __init__(self, node_id, posts, replies, causal):
        super().__init__(node_id)
        self.durable.posted = 0
        self.posts = list(posts)
        self.replies = dict(replies)
        self.causal = causal
        self.screen = []
        self.read_from = {}
        self.held = []
        self.answers = {}

    def on_start(self):
        self.record(status="reading", shown=0, last="-")
        self._schedule_post()

    def _schedule_post(self):
        index = self.durable.posted
        if index < len(self.posts):
            self.set_timer("post", max(0.0, self.posts[index][0] - self.now))

    def on_timer_post(self):
        text = self.posts[self.durable.posted][1]
        self._publish(text, reply_to=None)
        self._schedule_post()

    def _publish(self, text, reply_to):
        self.durable.posted += 1
        post_id = f"{self.node_id}#{self.durable.posted}"
        self.read_from[self.node_id] = self.durable.posted
        deps = dict(self.read_from)
        self.broadcast("post", {"post": post_id, "text": text,
                                "reply_to": reply_to, "deps": deps})
        self._show(post_id, reply_to)

    def on_post(self, msg):
        self.held.append(msg.payload)
        self._release()

    def _release(self):
        progress = True
        while progress:
            progress = False
            for post in list(self.held):
                if not self.causal or self._ready(post):
                    self.held.remove(post)
                    self._read(post)
                    progress = True
        if self.held and self.recorded.get("status") != "waiting":
            self.record(status="waiting")

    def _ready(self, post):
        author = post["post"].split("#")[0]
        for name, count in post["deps"].items():
            seen = self.read_from.get(name, 0)
            if (name == author and count != seen + 1) or (
                    name != author and count > seen):
                return False
        return True

    def _read(self, post):
        author, number = post["post"].split("#")
        self.read_from[author] = max(self.read_from.get(author, 0), int(number))
        self._show(post["post"], post["reply_to"])
        answer = self.replies.get(post["post"])
        if answer is not None:
            self._publish(answer, reply_to=post["post"])

    def _show(self, post_id, reply_to):
        self.screen.append(post_id)
        if reply_to is not None:
            self.answers[post_id] = reply_to
        missing = [q for q in self.answers.values() if q not in self.screen]
        status = "confused" if missing else "waiting" if self.held else "reading"
        self.record(status=status, shown=len(self.screen), last=post_id)


def build_chat(sim, causal, lose):
    if not isinstance(causal, bool):
        raise ValueError(f"causal={causal!r} must be True or False")
    if lose is not None:
        faults = sim.faults
        sim.faults = Faults(drop=faults.drop, drop_rate=faults.drop_rate,
                            drop_if=faults.drop_if + (lambda m: m.id == lose,),
                            cuts=faults.cuts, crashes=faults.crashes)
    for name in PEOPLE:
        sim.add(ChatMember(name, POSTS.get(name, ()), REPLIES.get(name, {}),
                           causal))
    _stamp(sim)


def _stamp(sim):
    if sim.stamper is None:
        sim.stamper = Stamper(nodes=list(sim.server_ids) + list(sim.client_ids))


CHAT = register(Scenario(
    name="clocks-chat",
    summary="group chat: bob's answer can reach carol before alice's question",
    build=build_chat,
    params={"causal": False, "lose": None},
    until=5.0,
    latency=CHAT_LATENCY,
))

LOST = register(Scenario(
    name="clocks-lost",
    summary="causal chat that loses alice's question to carol: the reply waits",
    build=build_chat,
    params={"causal": True, "lose": "alice:2"},
    until=5.0,
    latency=CHAT_LATENCY,
))


# ----- a shopping cart with version vectors -----

REPLICAS = ("r1", "r2", "r3")

# Which replica adds which item to the cart, and when.
CART_WRITES = {"r1": (0.10, "milk"), "r2": (0.12, "bread"), "r3": (0.40, "eggs")}


class CartReplica(Node):
    """A replica of one key, the cart, keeping concurrent versions as siblings.

    A version is ``{"items": [...], "vv": {replica: writes}}``. A local
    write merges every sibling, adds its item, and ticks its own entry of
    the version vector; a replicated version replaces the siblings it
    supersedes and is ignored if a sibling supersedes it. Records
    ``status`` (``one value`` or ``siblings``) and ``value``.
    """

    def __init__(self, node_id, write):
        super().__init__(node_id)
        self.durable.siblings = []
        self.write = write

    def on_start(self):
        self._record()
        if self.write is not None:
            self.set_timer("write", max(0.0, self.write[0] - self.now))

    def on_timer_write(self):
        items = {self.write[1]}
        vv = VectorClock()
        for version in self.durable.siblings:
            items.update(version["items"])
            vv = vv.merge(version["vv"])
        version = {"items": sorted(items), "vv": vv.tick(self.node_id).as_dict()}
        self.durable.siblings = [version]
        self._record()
        self.broadcast("version", version)

    def on_version(self, msg):
        incoming = msg.payload
        kept = []
        for version in self.durable.siblings:
            relation = VectorClock(version["vv"]).compare(incoming["vv"])
            if relation in ("after", "equal"):
                return
            if relation == "concurrent":
                kept.append(version)
        self.durable.siblings = kept + [incoming]
        self._record()

    def _record(self):
        siblings = self.durable.siblings
        value = " | ".join(",".join(v["items"]) for v in siblings) or "-"
        status = "siblings" if len(siblings) > 1 else "one value"
        self.record(status=status, value=value)


def build_cart(sim):
    for name in REPLICAS:
        sim.add(CartReplica(name, CART_WRITES.get(name)))
    _stamp(sim)


CART = register(Scenario(
    name="clocks-cart",
    summary="three replicas of one cart; version vectors keep concurrent "
            "writes as siblings",
    build=build_cart,
    until=5.0,
    latency=Uniform(0.02, 0.08),
))


# ----- two servers accept the same username -----

SERVERS = ("s1", "s2", "s3")

# Which server is asked for the name, and when.
CLAIMS = {"s1": 0.10, "s3": 0.11}


class NameServer(Node):
    """Accepts username claims and orders them by Lamport clock.

    Every message carries the sender's Lamport clock, ticked exactly as
    the kernel's stamper ticks it, so the claim's stamp on the diagram is
    the one this protocol uses. A claim is ``(lamport, server)`` of its
    first announcement; the smallest claim wins.

    - ``wait=False``: grant the name on the spot, then take it back if an
      earlier claim turns up (``status`` ``granted`` then ``revoked``);
    - ``wait=True``: grant only after every other server has answered,
      which rules out an earlier claim still on its way (``pending``,
      then ``granted`` or ``refused``).
    """

    def __init__(self, node_id, claim_at, wait):
        super().__init__(node_id)
        self.durable.clock = LamportClock(node_id)
        self.claim_at = claim_at
        self.wait = wait
        self.mine = None
        self.claims = {}
        self.answered = set()

    def on_start(self):
        self.record(status="idle", owner="-")
        if self.claim_at is not None:
            self.set_timer("claim", max(0.0, self.claim_at - self.now))

    def send(self, dst, type, payload=None):
        payload = dict(payload or {}, lamport=self.durable.clock.tick())
        return super().send(dst, type, payload)

    def _receive(self, msg):
        self.durable.clock.receive(msg.payload["lamport"])

    def on_timer_claim(self):
        self.mine = [self.durable.clock.value + 1, self.node_id]
        self.claims[self.node_id] = self.mine
        self.broadcast("claim", {"claim": self.mine})
        if self.wait:
            self.record(status="pending", claim=_claim_text(self.mine))
        else:
            self.record(status="granted", owner=self.node_id,
                        claim=_claim_text(self.mine))

    def on_claim(self, msg):
        self._receive(msg)
        self.claims[msg.src] = msg.payload["claim"]
        self.send(msg.src, "ack", {"claim": self.mine})
        self._decide()

    def on_ack(self, msg):
        self._receive(msg)
        if msg.payload["claim"] is not None:
            self.claims[msg.src] = msg.payload["claim"]
        self.answered.add(msg.src)
        self._decide()

    def _decide(self):
        owner = min(self.claims.values())[1]
        if self.mine is None:
            self._show(owner=owner)
        elif not self.wait:
            self._show(status="granted" if owner == self.node_id else "revoked",
                       owner=owner)
        elif self.answered >= set(self.peers):
            self._show(status="granted" if owner == self.node_id else "refused",
                       owner=owner)

    def _show(self, **fields):
        recorded = self.recorded
        if any(recorded.get(k) != v for k, v in fields.items()):
            self.record(**fields)


def _claim_text(claim):
    return f"({claim[0]}, {claim[1]})"


def build_usernames(sim, wait):
    if not isinstance(wait, bool):
        raise ValueError(f"wait={wait!r} must be True or False")
    for name in SERVERS:
        sim.add(NameServer(name, CLAIMS.get(name), wait))
    _stamp(sim)


USERNAMES = register(Scenario(
    name="clocks-usernames",
    summary="two servers accept the same username; Lamport order picks "
            "the winner",
    build=build_usernames,
    params={"wait": False},
    until=5.0,
    latency=PerLink({("s1", "s3"): Uniform(0.15, 0.2)},
                    default=Uniform(0.02, 0.06)),
))
