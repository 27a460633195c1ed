"""A plain-Python direct-method SSA that works on the Model, not on the compiled arrays.

It recomputes every propensity and the whole sum tree from scratch at every step and keeps
agents in Python lists, so it shares no code with the numba engine; fed the same numpy
Generator it must reproduce the engine's trajectories bit for bit. Draw order per step: a
standard exponential for the waiting time; if a reaction fires, a uniform for the choice,
then one uniform per agent moved (``min(int(u * n), n - 1)`` into the source list).
"""

import math


def simulate(model, rng, sample_times, t_end, max_events=10**12):
    species_count = len(model.species)
    x = list(model.x0)
    rate = [r.rate for r in model.reactions]
    state_of, members, classes, next_ids = {}, {}, {}, {}
    # Agents: ids 0..n-1 per type fill the states in order; one list per state.
    for t, agent in enumerate(model.agent_types):
        base = model.agent_state_base[agent.name]
        next_id = 0
        for k, count in enumerate(agent.initial):
            members[base + k] = list(range(next_id, next_id + count))
            for a in range(next_id, next_id + count):
                state_of[(t, a)] = base + k
            next_id += count
        next_ids[t] = next_id
    pair_classes = list(dict.fromkeys(r.neighbour for r in model.reactions if r.neighbour))
    # A pair class is (target state, set of left-neighbour states); those of one target are
    # disjoint, so (own state, left neighbour's state) names at most one.
    class_named = {(target, n): (target, atom) for target, atom in pair_classes for n in atom}
    class_of = {}

    def left(t, a):
        ring = model.agent_types[t].ring_size
        return a - a % ring + (a % ring - 1) % ring

    def refresh(t, a):  # move agent a to the pair class its and its left neighbour's states give
        old = class_of.get((t, a))
        if old is not None:
            lst = classes[old]
            i = lst.index(a)
            lst[i] = lst[-1]
            lst.pop()
        pc = class_named.get((state_of[(t, a)], state_of[(t, left(t, a))]))
        class_of[(t, a)] = pc
        if pc is not None:
            classes[pc].append(a)

    for pc in pair_classes:
        classes[pc] = []
    for t, agent in enumerate(model.agent_types):
        if agent.ring_size and pair_classes:
            for a in range(next_ids[t]):
                refresh(t, a)

    def count(s):
        return len(members[s]) if s in members else x[s]

    def n_complexes(t):
        agent = model.agent_types[t]
        return sum(agent.initial) // agent.complex_size

    def propensity(j):
        reaction = model.reactions[j]
        a = rate[j]
        if reaction.complex_pick:      # c per complex: the engine stores c × n complexes
            a = a * n_complexes(reaction.complex_type)
        for s, nu in reaction.reactants:
            n = count(s)
            if reaction.neighbour is not None and s == reaction.neighbour[0]:
                n = len(classes[reaction.neighbour])
            if n < nu:
                return 0.0
            if nu == 1:
                a = a * n
            else:
                b = 1.0
                for k in range(nu):
                    b = b * (n - k) / (k + 1)
                a = a * b
        if reaction.kind in ("michaelis_menten", "hill"):
            a = a * law_factor(reaction)
        return a

    def law_factor(reaction):
        # Michaelis–Menten E/(K_M + S), Hill X^n/(K^n + X^n) = 1/(1 + (K/X)^n) and its
        # repression 1/(1 + (X/K)^n), written from docs/model-format.md (the same
        # operations in the same order as the engine, for bit-for-bit agreement).
        m = 0.0
        for s, w in reaction.modifier:
            m = m + w * count(s)
        if reaction.kind == "michaelis_menten":
            if not reaction.modifier:
                m = 1.0
            return m / (reaction.half + sum(count(s) for s in reaction.saturation))
        if reaction.repress:
            return 1.0 / (1.0 + (m / reaction.half) ** reaction.hill_n)
        if m <= 0.0:
            return 0.0
        return 1.0 / (1.0 + (reaction.half / m) ** reaction.hill_n)

    n_leaves = 1                       # 4-ary sum tree, as in the engine
    while n_leaves < len(model.reactions):
        n_leaves *= 4
    first_leaf = (n_leaves - 1) // 3
    t, k, iv, n_events = 0.0, 0, 0, 0
    out, events = [], []
    interventions = model.interventions

    def snapshot():
        return [count(s) for s in range(species_count)]

    while True:
        tree = [0.0] * (first_leaf + n_leaves)
        for j in range(len(model.reactions)):
            tree[first_leaf + j] = propensity(j)
        for i in range(first_leaf - 1, -1, -1):
            tree[i] = ((tree[4 * i + 1] + tree[4 * i + 2]) + tree[4 * i + 3]) + tree[4 * i + 4]
        a0 = tree[0]
        t_next = t + rng.standard_exponential() / a0 if a0 > 0 else math.inf
        t_iv = interventions[iv].time if iv < len(interventions) else math.inf
        if t_iv <= t_end and t_iv <= t_next:
            while k < len(sample_times) and sample_times[k] < t_iv:
                out.append(snapshot())
                k += 1
            t = t_iv
            while iv < len(interventions) and interventions[iv].time == t_iv:
                for s, c in interventions[iv].set_counts:
                    x[s] = c
                for s, c in interventions[iv].add_counts:
                    x[s] += c
                for j, c in interventions[iv].set_rates:
                    rate[j] = c
                iv += 1
            continue
        if t_next > t_end:
            break
        while k < len(sample_times) and sample_times[k] < t_next:
            out.append(snapshot())
            k += 1
        if n_events >= max_events:
            return out, events, n_events, "max_events"
        t = t_next
        u = rng.random() * a0
        i = 0
        while i < first_leaf:
            children = [c for c in range(4 * i + 1, 4 * i + 5) if tree[c] > 0.0]
            for c in children:
                if u < tree[c]:
                    i = c
                    break
                u -= tree[c]
            else:
                i = children[-1]  # round-off pushed u past the last positive child
        j = i - first_leaf
        reaction = model.reactions[j]
        n_events += 1
        change = {}
        for s, nu in reaction.reactants:
            change[s] = change.get(s, 0) - nu
        for s, nu in reaction.products:
            change[s] = change.get(s, 0) + nu
        for s, d in change.items():
            if s not in members:
                x[s] += d
        picked = []
        for m, (ty, frm, to) in enumerate(reaction.agent_moves):
            if frm < 0:
                a = next_ids[ty]
                next_ids[ty] += 1
            else:
                pool = (classes[reaction.neighbour] if m == 0 and reaction.neighbour
                        else members[frm])
                a = pool[min(int(rng.random() * len(pool)), len(pool) - 1)]
                lst = members[frm]
                i = lst.index(a)
                lst[i] = lst[-1]
                lst.pop()
            picked.append(a)
        for (ty, frm, to), a in zip(reaction.agent_moves, picked):
            if to >= 0:
                members[to].append(a)
            state_of[(ty, a)] = to
            if model.agent_types[ty].ring_size and pair_classes:
                refresh(ty, a)
                ring = model.agent_types[ty].ring_size
                refresh(ty, a - a % ring + (a % ring + 1) % ring)
            if reaction.log:
                events.append((t, a, j, frm, to))
        if reaction.complex_type >= 0:   # a complex rule: every member of one complex
            ty = reaction.complex_type
            size = model.agent_types[ty].complex_size
            if reaction.complex_pick:
                n = n_complexes(ty)
                first = min(int(rng.random() * n), n - 1) * size
            else:
                first = picked[0] - picked[0] % size
            change = {frm: (to, products) for frm, to, products in reaction.members}
            for a in range(first, first + size):
                frm = state_of[(ty, a)]
                to, products = change.get(frm, (frm, ()))
                for s, n in products:
                    x[s] += n
                if to != frm:
                    lst = members[frm]
                    i = lst.index(a)
                    lst[i] = lst[-1]
                    lst.pop()
                    members[to].append(a)
                    state_of[(ty, a)] = to
                    if reaction.log:
                        events.append((t, a, j, frm, to))
            if model.agent_types[ty].ring_size and pair_classes:
                for a in range(first, first + size):
                    refresh(ty, a)
    while k < len(sample_times):
        out.append(snapshot())
        k += 1
    return out, events, n_events, "ok"
