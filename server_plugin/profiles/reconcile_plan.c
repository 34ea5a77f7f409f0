/* The reconciler's plan, in memory: from one snapshot of the store (hosts,
 * profiles, what each host was sent), which hosts need which InstallProfile
 * and RemoveProfile, which rows change without a command, and who is asked
 * for a ProfileList. reconcile.c writes the plan. The snapshot interns its
 * strings, so identifiers, checksums and UDIDs compare as pointers here. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"
#include "tables/nudge_logic.h"

#include <string.h>

int orchard_rc_applies(const orchard_hp_profile *p, const char *os_version)
{
    int cmp = 0;
    if (!p->applies_below)
        return 1;
    /* An unknown or unreadable version gets no version-bound profile: the
     * Nudge profile goes only where it is known to be needed. */
    return os_version && nudge_version_compare(os_version, p->applies_below, &cmp) == 0 &&
           cmp < 0;
}

static void install_free(gpointer p)
{
    orchard_rc_install *i = p;
    g_ptr_array_unref(i->udids);
    g_free(i);
}

static void remove_free(gpointer p)
{
    orchard_rc_remove *r = p;
    g_ptr_array_unref(r->udids);
    g_free(r);
}

void orchard_rc_plan_clear(orchard_rc_plan *p)
{
    if (!p)
        return;
    if (p->installs)
        g_ptr_array_unref(p->installs);
    if (p->removes)
        g_ptr_array_unref(p->removes);
    if (p->fixes)
        g_array_unref(p->fixes);
    if (p->profile_lists)
        g_ptr_array_unref(p->profile_lists);
    if (p->wake)
        g_ptr_array_unref(p->wake);
    memset(p, 0, sizeof *p);
}

/* The planner's indexes over one snapshot. */
typedef struct {
    GHashTable *team_profiles; /* gint64 * team -> GPtrArray of orchard_hp_profile * */
    GHashTable *install_of;    /* orchard_hp_profile * -> orchard_rc_install * */
    GHashTable *remove_of;     /* identifier -> orchard_rc_remove * */
    GPtrArray *desired;        /* the current host's, reused from host to host */
    const orchard_hp_row *rows;
} planner;

static void index_snapshot(const orchard_hp_snapshot *s, planner *pl)
{
    pl->team_profiles = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify)g_ptr_array_unref);
    pl->install_of = g_hash_table_new(g_direct_hash, g_direct_equal);
    pl->remove_of = g_hash_table_new(g_direct_hash, g_direct_equal);
    pl->desired = g_ptr_array_new();
    pl->rows = (const orchard_hp_row *)(void *)s->rows->data;
    for (guint i = 0; i < s->profiles->len; i++) {
        orchard_hp_profile *p = &g_array_index(s->profiles, orchard_hp_profile, i);
        GPtrArray *list = g_hash_table_lookup(pl->team_profiles, &p->team_id);
        if (!list) {
            list = g_ptr_array_new();
            g_hash_table_insert(pl->team_profiles, &p->team_id, list);
        }
        g_ptr_array_add(list, p);
    }
}

static void planner_free(planner *pl)
{
    g_hash_table_unref(pl->team_profiles);
    g_hash_table_unref(pl->install_of);
    g_hash_table_unref(pl->remove_of);
    g_ptr_array_unref(pl->desired);
}

static void plan_install(planner *pl, orchard_rc_plan *out, const orchard_hp_profile *p,
                         const char *udid)
{
    orchard_rc_install *in = g_hash_table_lookup(pl->install_of, p);
    if (!in) {
        in = g_new0(orchard_rc_install, 1);
        in->profile = p;
        in->udids = g_ptr_array_new();
        g_hash_table_insert(pl->install_of, (gpointer)p, in);
        g_ptr_array_add(out->installs, in);
    }
    g_ptr_array_add(in->udids, (gpointer)udid);
    out->n_installs++;
}

static void plan_remove(planner *pl, orchard_rc_plan *out, const char *identifier,
                        const char *udid)
{
    orchard_rc_remove *rm = g_hash_table_lookup(pl->remove_of, identifier);
    if (!rm) {
        rm = g_new0(orchard_rc_remove, 1);
        rm->identifier = identifier;
        rm->udids = g_ptr_array_new();
        g_hash_table_insert(pl->remove_of, (gpointer)identifier, rm);
        g_ptr_array_add(out->removes, rm);
    }
    g_ptr_array_add(rm->udids, (gpointer)udid);
    out->n_removes++;
}

/* The host's row for `identifier`, or NULL (interned: pointer equality). */
static const orchard_hp_row *row_for(const orchard_hp_row *rows, guint n, const char *identifier)
{
    for (guint i = 0; i < n; i++)
        if (rows[i].identifier == identifier)
            return &rows[i];
    return NULL;
}

static int is_desired(GPtrArray *desired, const char *identifier)
{
    for (guint i = 0; i < desired->len; i++)
        if (((orchard_hp_profile *)desired->pdata[i])->identifier == identifier)
            return 1;
    return 0;
}

/* ProfileList for a host whose installs await verification (acknowledged
 * since the last ProfileList was asked: times are whole seconds, so an
 * acknowledgement in the very second of the ask counts, at the cost of one
 * list more now and then) or whose last answer is a day old; never while
 * one is outstanding (asked, unanswered, less than a day ago). */
static int wants_list(const orchard_hp_host *h, const orchard_hp_row *rows, gint64 now)
{
    gint64 asked = h->profile_list_asked_at, answered = h->profile_list_at;
    if (asked > answered && asked > now - ORCHARD_PROFILES_LIST_MAX_AGE)
        return 0;
    int installed = 0;
    for (guint i = 0; i < h->rows_count; i++) {
        const orchard_hp_row *r = &rows[i];
        if (!r->install)
            continue;
        int verifying = r->status == ORCHARD_HP_VERIFYING;
        if (verifying && r->updated_at >= asked)
            return 1;
        installed |= verifying || r->status == ORCHARD_HP_VERIFIED;
    }
    return installed && answered < now - ORCHARD_PROFILES_LIST_MAX_AGE;
}

static void plan_host(planner *pl, orchard_rc_plan *out, const orchard_hp_host *h, gint64 now)
{
    GPtrArray *team = g_hash_table_lookup(pl->team_profiles, &h->team_id);
    const orchard_hp_row *rows = pl->rows + h->rows_start;
    GPtrArray *desired = pl->desired;
    size_t before = out->n_installs + out->n_removes;

    g_ptr_array_set_size(desired, 0);
    for (guint i = 0; team && i < team->len; i++)
        if (orchard_rc_applies(team->pdata[i], h->os_version))
            g_ptr_array_add(desired, team->pdata[i]);
    for (guint i = 0; i < desired->len; i++) {
        const orchard_hp_profile *p = desired->pdata[i];
        const orchard_hp_row *r = row_for(rows, h->rows_count, p->identifier);
        if (!r || r->checksum != p->checksum || !r->install) {
            plan_install(pl, out, p, h->udid);
        } else if (r->profile_id != p->id) {
            /* Same identifier and content from another team's profile: the
             * Mac has it already; the row follows the profile it belongs to. */
            orchard_rc_fix f = {h->udid, p->identifier, p};
            g_array_append_val(out->fixes, f);
        }
    }
    for (guint i = 0; i < h->rows_count; i++) {
        const orchard_hp_row *r = &rows[i];
        if (!r->install || is_desired(desired, r->identifier))
            continue;
        if (r->status == ORCHARD_HP_FAILED) {
            /* It never got onto the Mac: nothing to remove. */
            orchard_rc_fix f = {h->udid, r->identifier, NULL};
            g_array_append_val(out->fixes, f);
        } else {
            plan_remove(pl, out, r->identifier, h->udid);
        }
    }
    int commands = out->n_installs + out->n_removes > before;
    if (wants_list(h, rows, now)) {
        g_ptr_array_add(out->profile_lists, (gpointer)h->udid);
        commands = 1;
    }
    if (commands)
        g_ptr_array_add(out->wake, (gpointer)h->udid);
}

void orchard_rc_plan_make(const orchard_hp_snapshot *s, gint64 now, orchard_rc_plan *out)
{
    planner pl;
    memset(out, 0, sizeof *out);
    out->installs = g_ptr_array_new_with_free_func(install_free);
    out->removes = g_ptr_array_new_with_free_func(remove_free);
    out->fixes = g_array_new(FALSE, FALSE, sizeof(orchard_rc_fix));
    out->profile_lists = g_ptr_array_new();
    out->wake = g_ptr_array_new();
    index_snapshot(s, &pl);
    for (guint i = 0; i < s->hosts->len; i++)
        plan_host(&pl, out, &g_array_index(s->hosts, orchard_hp_host, i), now);
    out->hosts = s->hosts->len;
    planner_free(&pl);
}
