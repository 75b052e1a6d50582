from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imaging.pixels import load_slice_pixels, save_slice_pixels, slice_storage_name
from storage import delete_stored_files


def test_a_slice_round_trips_through_storage_with_its_dtype(media_root):
    hu = np.arange(-1024, -1024 + 64 * 48, dtype=np.int16).reshape(64, 48)
    name = save_slice_pixels(slice_storage_name("abc", 7), hu)
    assert name == "slices/abc/0007.npy"
    loaded = load_slice_pixels(name)
    assert loaded.dtype == np.int16
    np.testing.assert_array_equal(loaded, hu)
    delete_stored_files([name])
    assert not (media_root / name).exists()


def test_many_threads_can_load_slices_at_once(media_root):
    # Generation and metrics read slices on thread pools; np.load's header parse is not thread-safe on
    # CPython 3.11 (spurious SystemError), so loads must still all succeed and agree.
    names = [save_slice_pixels(slice_storage_name("t", i), np.full((16, 16), i, np.int16)) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda k: int(load_slice_pixels(names[k % 8])[0, 0]), range(4000)))
    assert results == [k % 8 for k in range(4000)]
