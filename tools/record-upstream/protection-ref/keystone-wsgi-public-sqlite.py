# WSGI entry point for the protection recorder's reference (start.sh with KS_REF_DIR=<this folder>):
# the shared keystone-ref wrapper (SQLite foreign keys on), plus our service's default policies
# in place of Zed's when <config dir>/policy-defaults.json exists (protection.py writes it).
#
# A policy file could override check strings only; scope_types come from the registered
# defaults, and ours (Keystone master's) differ from Zed's for many rules. So the defaults are
# replaced where Keystone registers them. Rules only Zed registers keep Zed's definition, so no
# enforcement point goes unregistered.
import json
import os
import sys

if os.environ.get('KS_SQLITE_FK', '1') == '1':
    from keystone.common.sql import core as _sql_core
    _sql_core.enable_sqlite_foreign_key()

_defaults = os.path.join(os.environ.get('OS_KEYSTONE_CONFIG_DIR', ''), 'policy-defaults.json')
if os.path.exists(_defaults):
    from oslo_policy import policy as _policy
    from keystone.common import policies as _policies

    with open(_defaults) as _f:
        _ours = json.load(_f)
    _zed_rules = _policies.list_rules

    def _list_rules():
        names = {r['name'] for r in _ours}
        rules = [_policy.RuleDefault(r['name'], r['checkStr'], scope_types=r.get('scopeTypes'))
                 for r in _ours]
        return rules + [r for r in _zed_rules() if r.name not in names]

    _policies.list_rules = _list_rules
    print('protection-ref: %d policy defaults from %s' % (len(_ours), _defaults), file=sys.stderr)

from keystone.server.wsgi import initialize_public_application  # noqa: E402

application = initialize_public_application()
