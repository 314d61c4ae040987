from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from mesads.core.http import read_only
from mesads.core.pagination import Paginator

from ..access import get_ads_for_user
from ..history import ads_timeline


@read_only
@login_required
def ads_history(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, include_deleted=True)
    page = Paginator(ads_timeline(ads), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "ads/ads_history.html",
        {"ads": ads, "authority": ads.authority, "page_obj": page},
    )
