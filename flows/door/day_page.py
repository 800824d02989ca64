"""`/rehab/day`: what waits on the signed-in staff member today and this week."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import Response

from casework.store.day import day_of
from flows.door.staff_page import StaffPages


class DayPage:
    """The handler of `/rehab/day` on one door."""

    def __init__(self, pages: StaffPages) -> None:
        self.pages = pages

    async def show(self, request: Request) -> Response:
        """GET /rehab/day."""
        staff = await self.pages.staff(request)
        if isinstance(staff, Response):
            return staff
        now = self.pages.door.now()
        local_today = now.astimezone(staff.zone).date()
        today_ends = datetime.combine(local_today + timedelta(days=1), time(), staff.zone)
        day = await self.pages.run(
            staff,
            lambda: day_of(
                self.pages.door.app.store,
                staff=staff.id,
                role=staff.role,
                today_ends=today_ends,
                week_ends=today_ends + timedelta(days=7),
            ),
        )
        return self.pages.answer(
            request, staff, "rehab/day.html", day.as_data(), title=f"{staff.id}: day"
        )
