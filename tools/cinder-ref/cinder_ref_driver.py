"""cinder-ref's volume driver: Cinder's packaged FakeLoggingVolumeDriver, plus the calls it lacks.

The packaged fake (cinder/tests/fake_driver.py) extends an LVM driver whose fake volume group
has no extend_volume, so every os-extend ended in error_extending. Here extend only logs, as
the fake's other calls do: the volume manager around it (status, size, quota commit) is real.
"""
from oslo_log import log as logging

from cinder.tests import fake_driver

LOG = logging.getLogger(__name__)


class CinderRefDriver(fake_driver.FakeLoggingVolumeDriver):
    def extend_volume(self, volume, new_size):
        LOG.info('cinder-ref: extend %s to %s GiB (nothing stored)', volume.id, new_size)
