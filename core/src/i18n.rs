//! Interface strings, French first, English second. Templates read them as `tr.<key>`; a missing
//! key fails rendering in tests (templates run with strict undefined behaviour).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use socle_tenants::Locale;

/// `(key, French, English)`.
const STRINGS: &[(&str, &str, &str)] = &[
    ("login_title", "Connexion", "Log in"),
    ("email", "Adresse e-mail", "Email address"),
    ("password", "Mot de passe", "Password"),
    ("login_submit", "Se connecter", "Log in"),
    ("logout", "Se déconnecter", "Log out"),
    ("login_invalid", "Adresse e-mail ou mot de passe incorrect.", "Wrong email address or password."),
    ("login_throttled", "Trop de tentatives. Réessayez dans {secs} secondes.", "Too many attempts. Try again in {secs} seconds."),
    ("forgot_password", "Mot de passe oublié ?", "Forgot your password?"),
    ("forgot_title", "Mot de passe oublié", "Forgotten password"),
    (
        "forgot_intro",
        "Indiquez l'adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.",
        "Enter your account's email address: we will send you a link to choose a new password.",
    ),
    ("forgot_submit", "Envoyer le lien", "Send the link"),
    (
        "forgot_sent",
        "Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé. Le lien est valable une heure.",
        "If an account exists for this address, an email was just sent to it. The link is valid for one hour.",
    ),
    ("back_to_login", "Retour à la connexion", "Back to login"),
    ("mfa_title", "Vérification en deux étapes", "Two-step verification"),
    ("mfa_help", "Saisissez le code à 6 chiffres affiché par votre application d'authentification.", "Enter the 6-digit code shown by your authenticator app."),
    ("mfa_code", "Code de vérification", "Verification code"),
    ("mfa_submit", "Vérifier", "Verify"),
    ("mfa_invalid", "Code incorrect ou déjà utilisé.", "Wrong or already used code."),
    ("mfa_attempts_left", "Encore {n} avant de devoir saisir à nouveau votre mot de passe.", "{n} more before you must enter your password again."),
    (
        "account_locked",
        "Trop d'essais : ce compte est bloqué pendant {n}. Réessayez ensuite.",
        "Too many attempts: this account is locked for {n}. Try again then.",
    ),
    ("mfa_expired", "Trop de codes erronés : saisissez à nouveau votre mot de passe.", "Too many wrong codes: enter your password again."),
    ("mfa_setup_title", "Activer la vérification en deux étapes", "Turn on two-step verification"),
    (
        "mfa_setup_help",
        "Ajoutez ce compte à votre application d'authentification (clé ci-dessous ou lien), puis saisissez le code affiché.",
        "Add this account to your authenticator app (key below or link), then enter the code it shows.",
    ),
    (
        "mfa_setup_required",
        "Votre rôle exige la vérification en deux étapes avant d'accéder à l'espace.",
        "Your role requires two-step verification before you can continue.",
    ),
    ("mfa_secret", "Clé secrète", "Secret key"),
    ("mfa_enabled", "La vérification en deux étapes est activée.", "Two-step verification is on."),
    ("reset_title", "Nouveau mot de passe", "New password"),
    ("reset_submit", "Enregistrer le mot de passe", "Save password"),
    ("reset_invalid", "Ce lien de réinitialisation est invalide, expiré ou déjà utilisé.", "This reset link is invalid, expired or already used."),
    ("reset_done", "Mot de passe modifié. Vous pouvez vous connecter.", "Password changed. You can log in."),
    ("password_rules", "Au moins 10 caractères.", "At least 10 characters."),
    ("welcome", "Bienvenue", "Welcome"),
    ("home_intro", "Votre espace de travail est prêt.", "Your workspace is ready."),
    ("your_roles", "Vos rôles", "Your roles"),
    ("your_permissions", "Vos permissions", "Your permissions"),
    ("none", "Aucun", "None"),
    ("account_security", "Sécurité du compte", "Account security"),
    ("enable_mfa", "Activer la vérification en deux étapes", "Turn on two-step verification"),
    ("skip_to_content", "Aller au contenu", "Skip to content"),
    ("error_title", "Une erreur est survenue", "Something went wrong"),
    ("nav_menu", "Menu", "Menu"),
    ("export_csv", "Exporter (tableur)", "Export (spreadsheet)"),
    ("error_400_title", "Demande incomprise", "Request not understood"),
    (
        "error_400",
        "Cette adresse contient un paramètre que nous ne savons pas lire (un filtre ou un tri, par exemple). Revenez à la liste et refaites votre choix.",
        "This address holds a parameter we cannot read (a filter or a sort, for instance). Go back to the list and choose again.",
    ),
    ("error_401_title", "Connexion nécessaire", "Sign-in needed"),
    ("error_401", "Connectez-vous pour voir cette page.", "Sign in to see this page."),
    ("error_403_title", "Accès refusé", "Access denied"),
    (
        "error_403",
        "Votre compte ne donne pas accès à cette page. Si vous pensez en avoir besoin, demandez-le à l'administrateur de votre espace.",
        "Your account does not give access to this page. If you need it, ask your space's administrator.",
    ),
    ("error_404_title", "Page introuvable", "Page not found"),
    (
        "error_404",
        "Cette page n'existe pas ou plus : le lien est peut-être ancien, ou l'élément a été supprimé.",
        "This page does not exist or no longer does: the link may be old, or the item was deleted.",
    ),
    ("error_409_title", "Modifié entre-temps", "Changed meanwhile"),
    (
        "error_409",
        "Quelqu'un a modifié cet élément pendant que vous le consultiez. Rechargez la page pour voir la dernière version.",
        "Someone changed this item while you were viewing it. Reload the page to see the latest version.",
    ),
    ("error_429_title", "Trop de demandes", "Too many requests"),
    (
        "error_429",
        "Vous avez fait beaucoup de demandes en peu de temps. Patientez un instant puis réessayez.",
        "You made many requests in a short time. Wait a moment, then try again.",
    ),
    ("error_500_title", "Une erreur est survenue", "Something went wrong"),
    (
        "error_500",
        "Une erreur inattendue s'est produite de notre côté ; elle a été enregistrée. Réessayez dans un instant.",
        "An unexpected error happened on our side; it has been logged. Try again in a moment.",
    ),
    ("error_503_title", "Service momentanément indisponible", "Service briefly unavailable"),
    (
        "error_503",
        "Le service est momentanément indisponible. Réessayez dans quelques secondes.",
        "The service is briefly unavailable. Try again in a few seconds.",
    ),
    ("back_home", "Retour à l'accueil", "Back to home"),
    ("tenant_suspended", "Cet espace est suspendu. Contactez votre fournisseur.", "This workspace is suspended. Contact your provider."),
    ("not_found", "Page introuvable.", "Page not found."),
    ("ops_title", "Console opérateur", "Operator console"),
    ("ops_tenants", "Espaces clients", "Tenants"),
    ("slug", "Identifiant", "Slug"),
    ("name", "Nom", "Name"),
    ("plan", "Offre", "Plan"),
    ("status", "Statut", "Status"),
    ("active", "Actif", "Active"),
    ("suspended", "Suspendu", "Suspended"),
    ("language", "Langue", "Language"),
    ("admin_notifications", "Notifications", "Notifications"),
    ("mark_all_read", "Tout marquer comme lu", "Mark all as read"),
    ("mark_read", "Marquer comme lu", "Mark as read"),
    ("no_notifications", "Aucune notification.", "No notifications."),
    ("unread", "non lue", "unread"),
    ("analytics", "Statistiques", "Analytics"),
    ("active_tenants", "espaces actifs", "active tenants"),
    ("downloads", "téléchargements", "downloads"),
    ("calls", "appels", "calls"),
    ("days", "jours", "days"),
    ("day", "jour", "day"),
    ("max", "max.", "max."),
    ("uninstalls", "désinstallations", "uninstalls"),
    ("chart_caption", "Installations (au-dessus) et désinstallations (en dessous) par jour", "Installs (above) and uninstalls (below) per day"),
    ("versions_in_use", "Versions utilisées", "Versions in use"),
    ("tenants", "Espaces", "Tenants"),
    ("error_rate", "Taux d'erreur", "Error rate"),
    ("rollout", "Déploiement progressif", "Progressive rollout"),
    ("after", "après", "after"),
    ("steps", "étapes", "steps"),
    ("rollout_pause", "Suspendre", "Pause"),
    ("rollout_resume", "Reprendre", "Resume"),
    ("rollout_advance", "Étape suivante", "Next step"),
    ("no_rollout", "Aucun déploiement progressif.", "No progressive rollout."),
    ("start_rollout_of", "Déployer progressivement la version", "Roll out version"),
    ("start_rollout", "Démarrer", "Start"),
    ("statements", "Relevés", "Statements"),
    ("period", "Mois", "Month"),
    ("show", "Afficher", "Show"),
    ("statement_of", "Relevé de", "Statement for"),
    ("line", "Ligne", "Line"),
    ("gross", "Brut", "Gross"),
    ("partner_share", "Part éditeur", "Partner share"),
    ("platform_share", "Commission plateforme", "Platform commission"),
    ("reseller_share", "Part revendeur", "Reseller share"),
    ("no_charges", "Aucune facturation ce mois-ci.", "No charges this month."),
    ("total", "Total", "Total"),
    ("download_csv", "Télécharger en CSV", "Download as CSV"),
    ("ops_rollouts", "Déploiements et arrêt d'urgence", "Rollouts and kill switch"),
    ("kill_switch", "Arrêt d'urgence", "Kill switch"),
    (
        "kill_switch_help",
        "Retire la version et ramène chaque espace qui l'utilise à sa version précédente ; les administrateurs sont prévenus.",
        "Yanks the version and rolls every tenant on it back to its previous version; their admins are notified.",
    ),
    ("reason", "Raison", "Reason"),
    ("kill", "Retirer partout", "Kill everywhere"),
    ("kill_confirm", "Retirer cette version de tous les espaces ?", "Withdraw this version from every tenant?"),
    ("save_view", "Enregistrer cette vue", "Save this view"),
    ("view_name", "Nom de la vue", "View name"),
    ("delete_view", "Supprimer la vue", "Delete the view"),
    ("partners_title", "Espace partenaires", "Partner console"),
    ("partners_overview", "Profil et clés", "Profile and keys"),
    ("partners_packages", "Paquets et versions", "Packages and versions"),
    ("partner_token", "Jeton d'éditeur", "Publisher token"),
    (
        "partner_token_help",
        "Un jeton socle_pub_… créé avec `socle publisher add-token` ou dans cet espace.",
        "A socle_pub_… token made with `socle publisher add-token` or in this console.",
    ),
    ("signing_keys", "Clés de signature", "Signing keys"),
    ("add_key", "Ajouter une clé (remplace la clé actuelle)", "Add a key (replaces the current one)"),
    ("add_key_help", "La clé publique affichée par `socle plugin keygen`.", "The public key printed by `socle plugin keygen`."),
    ("confirm_revoke", "Révoquer définitivement ?", "Revoke for good?"),
    ("revoke", "Révoquer", "Revoke"),
    ("revoked", "révoqué", "revoked"),
    ("api_tokens", "Jetons d'API", "API tokens"),
    ("new_token", "Nouveau jeton (affiché une seule fois)", "New token (shown once)"),
    ("submit_package", "Soumettre un paquet", "Submit a package"),
    ("package_archive", "Archive .socle", "Archive .socle"),
    ("package_signature", "Signature .socle.sig", "Signature .socle.sig"),
    ("submit_help", "Produits par `socle plugin pack` puis `socle plugin sign`.", "Made by `socle plugin pack` then `socle plugin sign`."),
    ("submit", "Soumettre", "Submit"),
    ("validation_report", "Rapport de validation", "Validation report"),
    ("unyank", "Remettre en ligne", "Unyank"),
    ("yank", "Retirer", "Yank"),
    ("yank_reason", "Raison du retrait", "Why it is yanked"),
    ("no_packages", "Aucun paquet publié.", "No package published."),
    ("ops_reviews", "Validation des extensions", "Extension reviews"),
    ("ops_health", "Santé de la plateforme", "Platform health"),
    ("review_note", "Note pour l'éditeur (obligatoire pour refuser)", "Note for the publisher (required to reject)"),
    ("no_reviews_waiting", "Aucune version en attente de validation.", "No version waiting for review."),
    ("database", "Base de données", "Database"),
    ("bus", "Bus et cache", "Bus and cache"),
    ("versions_in_review", "version(s) en attente de validation", "version(s) waiting for review"),
    ("plugin_health", "Extensions (24 h)", "Extensions (24 h)"),
    ("backups", "Sauvegardes", "Backups"),
    (
        "backup_schedule",
        "Sauvegarde automatique toutes les {every}, les {keep} dernières archives gardées dans {dir}.",
        "Automatic backup every {every}, the last {keep} archives kept in {dir}.",
    ),
    (
        "backup_off",
        "Sauvegardes automatiques désactivées (backup.every = off) : seules les commandes « socle backup » en prennent.",
        "Automatic backups are off (backup.every = off): only « socle backup » takes them.",
    ),
    ("backup_last_success", "Dernière sauvegarde réussie", "Last successful backup"),
    ("backup_none", "Aucune sauvegarde réussie pour l'instant.", "No successful backup yet."),
    (
        "backup_overdue",
        "Les sauvegardes sont en retard ou échouent : la cause est ci-dessous et dans le journal du serveur.",
        "Backups are late or failing: the cause is below and in the server's log.",
    ),
    ("backup_started", "Début", "Started"),
    ("backup_origin", "Origine", "Origin"),
    ("backup_archive", "Archive", "Archive"),
    ("backup_size", "Taille", "Size"),
    ("backup_status_running", "en cours", "running"),
    ("backup_status_done", "réussie", "done"),
    ("backup_status_failed", "échec", "failed"),
    ("backup_origin_schedule", "planifiée", "scheduled"),
    ("backup_origin_command", "commande", "command"),
    ("backup_no_runs", "Aucune sauvegarde n'a encore été lancée.", "No backup has run yet."),
    ("accept_price", "J'accepte le prix de cette extension", "I accept this extension's price"),
    ("action", "Action", "Action"),
    ("actions", "Actions", "Actions"),
    ("admin_title", "Administration", "Administration"),
    ("admin_marketplace", "Catalogue", "Marketplace"),
    ("admin_plugins", "Extensions installées", "Installed extensions"),
    ("admin_approvals", "Autorisations en attente", "Pending approvals"),
    ("admin_branding", "Marque et thème", "Brand and theme"),
    ("admin_users", "Utilisateurs", "Users"),
    ("admin_roles", "Rôles et permissions", "Roles and permissions"),
    ("admin_audit", "Journal", "Audit journal"),
    ("any", "Tous", "Any"),
    ("apply_filters", "Filtrer", "Filter"),
    (
        "approvals_help",
        "Une mise à jour qui demande de nouvelles permissions tourne déjà : ces appels sont refusés tant que vous ne les avez pas approuvés.",
        "An update that asks for new permissions is already running: those calls are denied until you approve them.",
    ),
    ("approve", "Approuver", "Approve"),
    ("asks_for", "Demande en plus", "Also asks for"),
    ("calls_24h", "appels (24 h)", "calls (24 h)"),
    ("category", "Catégorie", "Category"),
    ("choose_action", "Choisir une action…", "Choose an action…"),
    ("close", "Fermer", "Close"),
    ("colors", "Couleurs", "Colours"),
    ("color_primary", "Couleur principale", "Primary colour"),
    ("color_secondary", "Couleur secondaire", "Secondary colour"),
    ("color_background", "Fond", "Background"),
    ("color_surface", "Surface", "Surface"),
    ("color_text", "Texte", "Text"),
    ("font_body", "Police du texte", "Body font"),
    ("font_heading", "Police des titres", "Heading font"),
    ("confirm_delete", "Supprimer définitivement cet enregistrement ?", "Delete this record for good?"),
    ("confirm_rollback", "Revenir à l'ensemble d'extensions précédent ?", "Go back to the previous set of extensions?"),
    ("confirm_uninstall", "Désinstaller cette extension ?", "Uninstall this extension?"),
    ("conflict_title", "Modifié entre-temps.", "Changed meanwhile."),
    ("conflict_by", "Ce champ vient d'être modifié par", "This field was just changed by"),
    ("conflict_theirs", "Sa valeur", "Their value"),
    ("conflict_mine", "votre saisie", "your entry"),
    ("conflict_keep_mine", "Garder ma valeur", "Keep mine"),
    ("conflict_take_theirs", "Prendre la sienne", "Take theirs"),
    ("changed_meanwhile", "L'enregistrement a changé entre-temps : voici son état actuel.", "The record changed meanwhile: here it is as it is now."),
    ("create", "Créer", "Create"),
    ("created_at", "Créé le", "Created"),
    ("data_classes", "Données conservées", "Data it stores"),
    ("delete", "Supprimer", "Delete"),
    ("denials", "refus", "denials"),
    ("dependencies", "Dépendances", "Dependencies"),
    ("deprecated", "Obsolète", "Deprecated"),
    ("detail", "Détail", "Detail"),
    ("details", "Détails", "Details"),
    ("errors_24h", "erreurs (24 h)", "errors (24 h)"),
    ("favicon", "Icône d'onglet", "Favicon"),
    ("filter_text", "Rechercher dans la liste", "Search this list"),
    ("first_page", "Première page", "First page"),
    ("free", "Gratuit", "Free"),
    ("health", "Santé", "Health"),
    ("history", "Historique", "History"),
    ("history_created", "a créé l'enregistrement", "created the record"),
    ("history_updated", "a modifié", "changed"),
    ("install", "Installer", "Install"),
    ("installed", "Installé", "Installed"),
    ("installs", "installations", "installs"),
    ("linked_records", "Enregistrements liés", "Linked records"),
    ("loading", "Chargement…", "Loading…"),
    ("logo", "Logo", "Logo"),
    ("logo_favicon", "Logo et icône", "Logo and icon"),
    ("mass_action", "Action groupée", "Mass action"),
    ("mass_done_one", "{n} enregistrement traité", "{n} record done"),
    ("mass_done_other", "{n} enregistrements traités", "{n} records done"),
    (
        "matrix_help",
        "Cochez ce que chaque rôle permet, puis enregistrez la ligne : le changement s'applique immédiatement.",
        "Tick what each role allows, then save the row: the change applies at once.",
    ),
    ("min_rating", "Note minimale", "Minimum rating"),
    ("nav_admin", "Administration", "Administration"),
    ("nav_home", "Accueil", "Home"),
    ("nav_other", "Autres", "Other"),
    ("more_filters", "Filtres", "Filters"),
    ("shortcuts", "Raccourcis", "Shortcuts"),
    ("see_all_in_list", "Voir la liste complète", "See the full list"),
    ("created_from", "Créé à partir du", "Created from"),
    ("created_to", "Créé jusqu'au", "Created until"),
    ("chart_none", "Non renseigné", "Not set"),
    ("chart_hidden", "Autre (non visible)", "Other (not visible)"),
    ("chart_others", "Autres", "Others"),
    ("widget_empty", "Rien pour le moment.", "Nothing for now."),
    ("my_account", "Mon compte", "My account"),
    ("no_role", "Aucun rôle pour le moment : demandez-en un à l'administrateur.", "No role yet: ask your administrator for one."),
    ("nav_label", "Menu principal", "Main menu"),
    ("new_record", "Nouveau", "New"),
    ("new_user", "Nouvel utilisateur", "New user"),
    ("new_user_help", "La personne reçoit un e-mail pour choisir son mot de passe.", "The person gets an email to choose their password."),
    ("next_page", "Page suivante", "Next page"),
    ("no_approvals", "Rien à approuver.", "Nothing to approve."),
    ("no_calls", "Aucun appel ces dernières 24 heures.", "No calls in the last 24 hours."),
    ("no_permissions", "Cette extension ne demande aucune permission.", "This extension asks for no permission."),
    ("no_plugins", "Aucune extension installée.", "No extension installed."),
    ("no_records", "Aucun enregistrement.", "No records."),
    ("no_results", "Aucun résultat.", "No results."),
    ("no_reviews", "Pas encore d'avis.", "No reviews yet."),
    ("no_settings", "Aucun réglage.", "No settings."),
    ("not_compatible", "Incompatible avec cet espace", "Not compatible with this workspace"),
    ("operations", "Opérations", "Operations"),
    ("p95", "p95", "p95"),
    ("pagination", "Pagination", "Pagination"),
    ("paid", "Payant", "Paid"),
    ("pending", "en attente", "pending"),
    ("permalink", "Lien direct", "Direct link"),
    ("permissions_asked", "Permissions demandées (décochez pour refuser)", "Permissions asked for (untick to refuse)"),
    ("permissions_granted", "Permissions accordées", "Granted permissions"),
    ("preview", "Aperçu", "Preview"),
    ("preview_button", "Bouton", "Button"),
    ("preview_help", "L'aperçu suit vos changements avant l'enregistrement.", "The preview follows your changes before you save."),
    ("preview_tag", "Étiquette", "Tag"),
    ("preview_text", "Voici le texte de votre portail.", "This is your portal's text."),
    ("price", "Prix", "Price"),
    ("publish", "Publier", "Publish"),
    ("radius", "Arrondi des coins (px)", "Corner radius (px)"),
    ("records_count_one", "{n} enregistrement", "{n} record"),
    ("records_count_other", "{n} enregistrements", "{n} records"),
    ("reject", "Refuser", "Reject"),
    ("require_mfa_admins", "Exiger la vérification en deux étapes pour les administrateurs", "Require two-step verification for administrators"),
    ("review_text", "Votre avis", "Your review"),
    ("reviews", "Avis", "Reviews"),
    ("risk", "risque", "risk"),
    ("role", "Rôle", "Role"),
    ("roles", "Rôles", "Roles"),
    ("rollback", "Revenir en arrière", "Roll back"),
    ("run", "Exécuter", "Run"),
    ("save", "Enregistrer", "Save"),
    ("saved", "Enregistré", "Saved"),
    ("screenshots", "Captures d'écran", "Screenshots"),
    ("search_label", "Recherche", "Search"),
    ("search_placeholder", "Rechercher partout… (/)", "Search everything… (/)"),
    ("secret", "secret", "secret"),
    ("secret_set", "défini", "set"),
    ("select", "Sélectionner", "Select"),
    ("select_all", "Tout sélectionner", "Select all"),
    ("selected_singular", "sélectionné", "selected"),
    ("selected_plural", "sélectionnés", "selected"),
    ("tries_one", "{n} essai", "{n} try"),
    ("tries_other", "{n} essais", "{n} tries"),
    ("minutes_one", "{n} minute", "{n} minute"),
    ("minutes_other", "{n} minutes", "{n} minutes"),
    ("see_all", "Tout voir", "See all"),
    ("add", "Ajouter", "Add"),
    ("select_matching_before", "— sélectionner les", "— select all"),
    ("select_matching_after", "résultats", "results"),
    ("set_field", "Modifier", "Set"),
    ("settings", "Réglages", "Settings"),
    ("settings_health", "Réglages et santé", "Settings and health"),
    ("sort", "Tri", "Sort"),
    ("sort_installs", "Installations", "Installs"),
    ("sort_rating", "Note", "Rating"),
    ("sort_name", "Nom", "Name"),
    ("sort_newest", "Nouveautés", "Newest"),
    ("stars", "Note", "Stars"),
    ("target", "Objet", "Target"),
    ("title", "Titre", "Title"),
    ("uninstall", "Désinstaller", "Uninstall"),
    ("updated_at", "modifié le", "updated"),
    ("upgrade", "Mettre à jour", "Upgrade"),
    ("upgrade_all", "Tout mettre à jour", "Upgrade all"),
    ("upload", "Envoyer", "Upload"),
    ("user_type", "Type", "Type"),
    ("user_active", "Actif", "Active"),
    ("user_disabled", "Désactivé", "Disabled"),
    ("customer_account", "Compte client", "Customer account"),
    ("version", "Version", "Version"),
    ("versions", "Versions", "Versions"),
    ("view_all", "Tous", "All"),
    ("views_label", "Vues", "Views"),
    ("when", "Quand", "When"),
    ("who", "Qui", "Who"),
    ("workflow", "Étapes", "Workflow"),
    ("write_review", "Donner votre avis", "Write a review"),
    ("yanked", "Retirée", "Yanked"),
    // ---- admin console ----
    (
        "audit_help",
        "Ce qui s'est passé dans votre espace, du plus récent au plus ancien, à l'heure de Paris.",
        "What happened in your workspace, newest first, in Paris time.",
    ),
    ("audit_filter", "Type d'événement", "Kind of event"),
    ("audit_all", "Tous", "All"),
    ("audit_event", "Événement", "Event"),
    ("audit_empty", "Aucun événement.", "No event."),
    ("audit_older", "Événements plus anciens", "Older events"),
    ("published_by", "Publiée par", "Published by"),
    ("health_24h", "Santé (dernières 24 heures)", "Health (last 24 hours)"),
    ("health_no_error", "aucune erreur", "no error"),
    ("denials_help", "l'extension a tenté quelque chose que vous ne lui avez pas accordé", "the extension tried something you have not granted it"),
    ("last_error", "Dernière erreur", "Last error"),
    ("grant_reason", "Raison donnée par l'extension :", "The extension's reason:"),
    ("plugin_active", "Active", "Active"),
    ("plugin_disabled", "Désactivée", "Disabled"),
    ("no_calls_short", "aucun appel", "no calls"),
    ("no_operations", "Aucune opération pour le moment.", "No operation yet."),
    ("technical_details", "Détails techniques pour le support", "Technical details for support"),
    (
        "lock_help",
        "Les versions exactes installées dans votre espace, telles que le support les demande.",
        "The exact versions installed in your workspace, as support asks for them.",
    ),
    ("channel_stable", "version stable", "stable release"),
    ("channel_beta", "version bêta", "beta release"),
    ("screenshot_of", "Capture d'écran de", "Screenshot of"),
    ("about_plugin", "Présentation", "About"),
    (
        "colors_help",
        "Choisissez une couleur dans le nuancier ou tapez son code (#rrggbb). Les textes doivent garder un contraste d'au moins 4,5:1 pour rester lisibles.",
        "Pick a colour from the swatch or type its code (#rrggbb). Text must keep a contrast of at least 4.5:1 to stay readable.",
    ),
    ("color_picker", "nuancier", "colour picker"),
    ("color_primary_help", "Barre de titre, boutons et liens.", "Title bar, buttons and links."),
    ("color_secondary_help", "Étiquettes et accents.", "Tags and accents."),
    ("color_background_help", "Fond des pages.", "Page background."),
    ("color_surface_help", "Fond des cartes et des panneaux.", "Background of cards and panels."),
    ("color_text_help", "Texte courant, sur le fond et les cartes.", "Body text, on the background and on cards."),
    ("preview_link", "Un lien", "A link"),
    ("installs_one", "{n} installation", "{n} install"),
    ("installs_other", "{n} installations", "{n} installs"),
    ("calls_one", "{n} appel", "{n} call"),
    ("calls_other", "{n} appels", "{n} calls"),
    ("errors_one", "{n} erreur", "{n} error"),
    ("errors_other", "{n} erreurs", "{n} errors"),
    ("denials_one", "{n} refus", "{n} denial"),
    ("denials_other", "{n} refus", "{n} denials"),
    ("reviews_one", "{n} avis", "{n} review"),
    ("reviews_other", "{n} avis", "{n} reviews"),
    ("active_tenants_one", "{n} espace actif", "{n} active tenant"),
    ("active_tenants_other", "{n} espaces actifs", "{n} active tenants"),
    ("downloads_one", "{n} téléchargement", "{n} download"),
    ("downloads_other", "{n} téléchargements", "{n} downloads"),
    ("days_one", "{n} jour", "{n} day"),
    ("days_other", "{n} jours", "{n} days"),
    ("uninstalls_one", "{n} désinstallation", "{n} uninstall"),
    ("uninstalls_other", "{n} désinstallations", "{n} uninstalls"),
    ("versions_in_review_one", "{n} version en attente de validation", "{n} version waiting for review"),
    ("versions_in_review_other", "{n} versions en attente de validation", "{n} versions waiting for review"),
];

/// The strings of one language, by key.
pub fn strings(locale: Locale) -> &'static BTreeMap<&'static str, &'static str> {
    static FR: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
    static EN: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
    match locale {
        Locale::Fr => FR.get_or_init(|| STRINGS.iter().map(|(k, fr, _)| (*k, *fr)).collect()),
        Locale::En => EN.get_or_init(|| STRINGS.iter().map(|(k, _, en)| (*k, *en)).collect()),
    }
}

/// One string, for Rust code (errors rendered as pages).
pub fn text(locale: Locale, key: &str) -> &'static str {
    strings(locale).get(key).copied().unwrap_or("")
}

/// A count with its noun, agreeing in number: the `<key>_one` string when `n` takes the
/// singular (French: 0 and 1; English: 1), else `<key>_other`, with `{n}` written the language's
/// way ("0 installation", "1 installation", "1 234 installations"; "0 installs", "1 install").
/// `None` when the language has no such key.
pub fn count(locale: Locale, key: &str, n: i64) -> Option<String> {
    let singular = match locale {
        Locale::Fr => (0..=1).contains(&n.abs()),
        Locale::En => n.abs() == 1,
    };
    let template = strings(locale).get(format!("{key}_{}", if singular { "one" } else { "other" }).as_str()).copied()?;
    let digits = n.unsigned_abs().to_string();
    let separator = if locale == Locale::Fr { '\u{202f}' } else { ',' };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    let sign = if n < 0 { "-" } else { "" };
    Some(template.replace("{n}", &format!("{sign}{grouped}")))
}

/// The language a request prefers among French and English, from `Accept-Language`, falling back
/// to `default`.
pub fn negotiate(accept_language: Option<&str>, default: Locale) -> Locale {
    let Some(header) = accept_language else { return default };
    let mut best: Option<(f32, Locale)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let locale = if tag.starts_with("fr") {
            Locale::Fr
        } else if tag.starts_with("en") {
            Locale::En
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, locale));
        }
    }
    best.map_or(default, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_translated() {
        for (key, fr, en) in STRINGS {
            assert!(!fr.is_empty() && !en.is_empty(), "{key}");
        }
    }

    #[test]
    fn counts_agree_in_number_the_way_each_language_does() {
        assert_eq!(count(Locale::Fr, "installs", 0).as_deref(), Some("0 installation"));
        assert_eq!(count(Locale::Fr, "installs", 1).as_deref(), Some("1 installation"));
        assert_eq!(count(Locale::Fr, "installs", 2).as_deref(), Some("2 installations"));
        assert_eq!(count(Locale::Fr, "installs", 1234).as_deref(), Some("1\u{202f}234 installations"));
        assert_eq!(count(Locale::En, "installs", 0).as_deref(), Some("0 installs"));
        assert_eq!(count(Locale::En, "installs", 1).as_deref(), Some("1 install"));
        assert_eq!(count(Locale::En, "calls", 1200).as_deref(), Some("1,200 calls"));
        assert_eq!(count(Locale::Fr, "no_such_noun", 2), None);
        // Every counted noun has both forms in both languages.
        for (key, _, _) in STRINGS.iter().filter(|(k, _, _)| k.ends_with("_one")) {
            let other = format!("{}_other", key.trim_end_matches("_one"));
            assert!(STRINGS.iter().any(|(k, _, _)| *k == other), "{key} has no {other}");
            assert!(STRINGS.iter().filter(|(k, _, _)| *k == *key || *k == other).all(|(_, fr, en)| fr.contains("{n}") && en.contains("{n}")), "{key}");
        }
    }

    #[test]
    fn negotiates_by_quality() {
        assert_eq!(negotiate(Some("en-GB,en;q=0.9,fr;q=0.8"), Locale::Fr), Locale::En);
        assert_eq!(negotiate(Some("de-DE,fr;q=0.5"), Locale::En), Locale::Fr);
        assert_eq!(negotiate(Some("de-DE"), Locale::Fr), Locale::Fr);
        assert_eq!(negotiate(None, Locale::En), Locale::En);
    }
}
