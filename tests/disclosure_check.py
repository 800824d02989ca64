"""An exact check of a published table: for each hidden (or carried) cell, is its true value
the only one consistent with every published cell and every sum a reader knows? Small
integer search with bounds propagation; no solver needed."""

from __future__ import annotations

from report.tables import Cell, Key, Table

BIG = 10**6
Equation = tuple[dict[Key, int], int]  # sum(coef * x) == constant


def equations(table: Table, cells: list[Cell]) -> tuple[list[Equation], dict[Key, int]]:
    """The sums with published values moved to the right; the unknowns' lower bounds (a
    hidden count is at least 1, since 0 is shown; a carried one at least 0)."""
    shown = {c.key: c for c in cells}
    unknown = {
        k: (1 if c.flag == "c" else 0)
        for k, c in shown.items()
        if c.flag != "ok" and k not in table.derived
    }
    eqs: list[Equation] = []
    for parts, total in table.sums:
        coef: dict[Key, int] = {}
        constant = 0
        for key, sign in [*((p, 1) for p in parts), (total, -1)]:
            if key in unknown:
                coef[key] = coef.get(key, 0) + sign
            else:
                constant -= sign * int(shown[key].count or 0)
        eqs.append((coef, constant))
    return eqs, unknown


def _propagate(eqs: list[Equation], lo: dict[Key, int], hi: dict[Key, int]) -> bool:
    changed = True
    while changed:
        changed = False
        for coef, constant in eqs:
            low_sum = sum(min(d * lo[j], d * hi[j]) for j, d in coef.items())
            high_sum = sum(max(d * lo[j], d * hi[j]) for j, d in coef.items())
            for k, c in coef.items():
                rest_min = low_sum - min(c * lo[k], c * hi[k])
                rest_max = high_sum - max(c * lo[k], c * hi[k])
                low, high = constant - rest_max, constant - rest_min  # bounds of c * x_k
                new_lo, new_hi = (low, high) if c > 0 else (-high, -low)
                if new_lo > lo[k] or new_hi < hi[k]:
                    lo[k], hi[k] = max(lo[k], new_lo), min(hi[k], new_hi)
                    if lo[k] > hi[k]:
                        return False
                    changed = True
                    break  # the sums changed: compute them again
    return True


def _near(lo: int, hi: int, centre: int, count: int = 50) -> list[int]:
    """Up to `count` values of [lo, hi], nearest `centre` first."""
    centre = min(max(centre, lo), hi)
    out = [centre]
    step = 1
    while len(out) < count and (centre - step >= lo or centre + step <= hi):
        out += [v for v in (centre - step, centre + step) if lo <= v <= hi]
        step += 1
    return out


def _solve(
    eqs: list[Equation],
    lo: dict[Key, int],
    hi: dict[Key, int],
    near: dict[Key, int],
    budget: list[int],
) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        raise RuntimeError("search too large to decide")
    lo, hi = dict(lo), dict(hi)
    if not _propagate(eqs, lo, hi):
        return False
    free = [k for k in lo if lo[k] < hi[k]]
    if not free:
        return all(sum(c * lo[k] for k, c in coef.items()) == b for coef, b in eqs)
    k = min(free, key=lambda x: hi[x] - lo[x])
    for v in _near(lo[k], hi[k], near[k]):
        if _solve(eqs, {**lo, k: v}, {**hi, k: v}, near, budget):
            return True
    return False


def recoverable(table: Table, cells: list[Cell]) -> list[Key]:
    """The masked cells a reader could work out exactly (none, for a well-protected table)."""
    eqs, unknown = equations(table, cells)
    eqs = [(coef, b) for coef, b in eqs if coef]
    true = {k: table.true[k] for k in unknown}
    found = []
    for k in unknown:
        involved = {j for coef, _ in eqs if k in coef for j in coef}
        if not involved:
            continue  # in no sum: anything goes
        mine = [(coef, b) for coef, b in eqs if set(coef) & _closure(eqs, k)]
        keys = {j for coef, _ in mine for j in coef}
        lo = {j: unknown[j] for j in keys}
        hi = dict.fromkeys(keys, BIG)
        other = [v for v in (true[k] + 1, true[k] - 1) if v >= unknown[k]]
        if not any(_solve(mine, {**lo, k: v}, {**hi, k: v}, true, [20000]) for v in other):
            found.append(k)
    return found


def _closure(eqs: list[Equation], start: Key) -> set[Key]:
    """Every unknown linked to `start` through some chain of sums."""
    seen, todo = {start}, [start]
    while todo:
        k = todo.pop()
        for coef, _ in eqs:
            if k in coef:
                for j in coef:
                    if j not in seen:
                        seen.add(j)
                        todo.append(j)
    return seen
