"""The slice page: one template and one configuration for test, practice and repeat items, so nothing on the page
differs between them but what the reader is told about the round."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from imaging.constants import CT_WINDOW_PRESETS
from studies.exposure_track import exposure_config
from studies.feedback import practice_strings

# The default CT window presets' names, translated on the page (a survey's own presets are shown as named).
DEFAULT_PRESET_NAMES = {preset.name for preset in CT_WINDOW_PRESETS}


def window_presets(design) -> list[dict]:
    """The survey's window presets, keys 1..n on the reader's keyboard."""
    return [
        {"key": str(number), "name": preset.name, "width": preset.width, "level": preset.level}
        for number, preset in enumerate(design.window_presets, start=1)
    ]


def rating_config(design) -> dict:
    """What the page's script needs about the confidence rating; the same for every item of a survey."""
    low, high = design.rating_range or (None, None)
    return {
        "scale": design.rating,
        "min": low,
        "max": high,
        "asksChoice": design.asks_choice,
        "confirmContradictions": design.checks_contradictions,
    }


def slab_config(design, policy) -> dict:
    """What the slab viewer needs (the same for every item of a survey): the z spacing and the in-plane mm per
    pixel, for the reformats' aspect (the page's `slab`, only in slab surveys)."""
    return {
        "thicknessMm": design.slab_thickness_mm,
        "spacingMm": design.slab_spacing_mm,
        "mmPerPixel": policy.mm_per_pixel,
    }


def reader_item_page(
    request, assignment, item, *, position, total, practice, previous_url, answer, reading_round=1
):
    """The slice page, the same template and configuration for test and practice items."""
    survey = assignment.survey
    policy = survey.display_policy
    design = survey.design
    presets = window_presets(design)
    config = {
        "itemId": item.public_id,
        "position": position,
        "total": total,
        "matrix": policy.matrix_size,
        "dtype": "int16le",
        "huRange": [policy.hu_min, policy.hu_max],
        "defaultWindow": {"width": policy.default_window_width, "level": policy.default_window_level},
        "presets": presets,
        "rating": rating_config(design),
        "stack": {"slices": design.stack_slices, "k": design.centre_slice},
        "exposure": exposure_config(assignment),
        "practice": practice,
        "round": reading_round,
        "pixelsUrl": reverse("studies:pixels", args=[assignment.key, item.public_id]),
        "answerUrl": reverse("studies:answer", args=[assignment.key, item.public_id]),
        "previousUrl": previous_url,
        "reviewUrl": reverse("studies:review", args=[assignment.key]),
        "allowGoingBack": survey.allow_going_back,
        "storageKey": f"blindread:{assignment.key}",
        "answer": (
            {
                "choice": answer.choice,
                "reason": answer.reason,
                "rating": answer.rating,
                "revision": answer.revision_count,
            }
            if answer is not None
            else None
        ),
    }
    if design.is_slab:
        config["slab"] = slab_config(design, policy)
    strings = reader_strings()
    if practice:
        strings.update(practice_strings())
    return render(
        request,
        "studies/item.html",
        {
            "assignment": assignment,
            "survey": survey,
            "policy": policy,
            "config": config,
            "position": position,
            "total": total,
            "practice": practice,
            "reading_round": reading_round,
            "design": design,
            "presets": presets,
            "default_preset_names": DEFAULT_PRESET_NAMES,
            "rating_values": range(1, 6),
            "stack_centre": design.centre_slice + 1,
            "strings": strings,
        },
    )


def reader_strings() -> dict[str, str]:
    """Text the page's script shows, in the reader's language."""
    return {
        "loading": _("Loading the image…"),
        "loadFailed": _("The image could not be loaded. Trying again…"),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "retrying": _("No connection. Your answer is kept on this device and will be sent again…"),
        "sessionEnded": _(
            "You are signed out. Sign in again and reopen this page; your answer is kept on this device."
        ),
        "notSaved": _("The answer was not saved."),
        "chooseFirst": _("Choose real, synthetic or indeterminable first."),
        "rateFirst": _("Rate how sure you are first."),
        "ratingNotSet": _("not set"),
        "dragWindow": _("Drag: window"),
        "dragPan": _("Drag: pan"),
        "saveAndFinish": _("Save and finish"),
        # %(number)s and %(total)s are filled in by the page's script as the reader scrolls.
        "slicePosition": _("Slice %(number)s of %(total)s"),
        # %(rating)s and %(answer)s are filled in by the page's script.
        "contradiction": _(
            "Your rating (%(rating)s) leans the other way from your answer (%(answer)s). Save it anyway, or change it?"
        ),
        "choiceReal": _("Real"),
        "choiceSynthetic": _("Synthetic"),
        "choiceIndeterminable": _("Indeterminable"),
    }
