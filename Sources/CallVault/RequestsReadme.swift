// README.txt of an access bundle: what GDPR art. 15(1) says the subject must be told, in nl, fr or en.
import CallVaultCore
import Foundation

enum AccessReadme {
    static func text(language: String, reference: String, calls: Int, exportedAt: Date,
                     retention: [(tenant: String, audio: String, metadata: String)]) -> String {
        let date = String(Timestamp.utc(exportedAt).prefix(10))
        let t = texts[language] ?? texts["en"]!
        var lines = [t.title, "", "\(t.reference): \(reference)", "\(t.date): \(date)", "\(t.count): \(calls)", ""]
        lines += [t.contentsTitle] + t.contents + [""]
        lines += [t.purposesTitle, t.purposes, ""]
        lines += [t.categoriesTitle, t.categories, ""]
        lines += [t.recipientsTitle, t.recipients, ""]
        lines += [t.retentionTitle, t.retentionIntro]
        for r in retention { lines.append("  - \(r.tenant): \(t.audio) \(r.audio), \(t.metadata) \(r.metadata)") }
        lines += [t.retentionNote, ""]
        lines += [t.sourceTitle, t.source, ""]
        lines += [t.rightsTitle, t.rights, ""]
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    struct Texts {
        var title, reference, date, count, contentsTitle: String
        var contents: [String]
        var purposesTitle, purposes, categoriesTitle, categories, recipientsTitle, recipients: String
        var retentionTitle, retentionIntro, audio, metadata, retentionNote, sourceTitle, source, rightsTitle, rights: String
    }

    static let texts: [String: Texts] = [
        "en": Texts(
            title: "Your call recordings: answer to your access request (GDPR art. 15)",
            reference: "Reference", date: "Date of this export", count: "Calls found",
            contentsTitle: "What this folder holds",
            contents: ["  calls.json, calls.csv - every stored call in which your number was the caller or the called number (times in local time)",
                       "  audio/ - the recordings that are still kept (*.playable.wav: a copy your browser can play)",
                       "  manifest.json - the SHA-256 and size of every file, to check that nothing was changed"],
            purposesTitle: "Why we record calls",
            purposes: "For the internal quality coaching of our staff, and for nothing else. A recording is kept longer than its normal period only when it is needed for an incident or as evidence in a legal claim.",
            categoriesTitle: "What we keep",
            categories: "The audio of the call and its details: when it started and ended, its duration and direction, the calling and called numbers and the queue it went through. Details about our staff are not part of this answer.",
            recipientsTitle: "Who receives it",
            recipients: "Our staff in charge of quality and compliance, and, where the law requires it, authorities and courts. Recordings are not sold or passed on for marketing.",
            retentionTitle: "How long we keep it",
            retentionIntro: "Counted from the start of each call (ISO 8601 periods: P1M = one month, P6M = six months, P1Y = one year):",
            audio: "audio", metadata: "details",
            retentionNote: "A call can be kept longer while it is needed as evidence in an incident or a legal case; it is deleted afterwards.",
            sourceTitle: "Where the data comes from",
            source: "From the call itself: our telephone system records the call and its details.",
            rightsTitle: "Your other rights",
            rights: "You may ask us to correct inaccurate details (art. 16), to erase your recordings (art. 17), to restrict their use (art. 18) and you may object to their use (art. 21). You may lodge a complaint with the data protection authority of your country (in Belgium: the Gegevensbeschermingsautoriteit / Autorité de protection des données)."),
        "nl": Texts(
            title: "Uw gespreksopnames: antwoord op uw verzoek om inzage (AVG art. 15)",
            reference: "Referentie", date: "Datum van deze export", count: "Gevonden gesprekken",
            contentsTitle: "Wat deze map bevat",
            contents: ["  calls.json, calls.csv - elk bewaard gesprek waarin uw nummer het bellende of het gebelde nummer was (tijden in lokale tijd)",
                       "  audio/ - de opnames die nog bewaard worden (*.playable.wav: een kopie die uw browser kan afspelen)",
                       "  manifest.json - de SHA-256 en grootte van elk bestand, om na te gaan dat niets gewijzigd werd"],
            purposesTitle: "Waarom wij gesprekken opnemen",
            purposes: "Voor de interne kwaliteitscoaching van onze medewerkers, en voor niets anders. Een opname wordt alleen langer dan de gewone termijn bewaard wanneer ze nodig is voor een incident of als bewijs in een juridisch geschil.",
            categoriesTitle: "Wat wij bewaren",
            categories: "De audio van het gesprek en de gegevens ervan: begin en einde, duur en richting, het bellende en het gebelde nummer en de wachtrij. Gegevens over onze medewerkers maken geen deel uit van dit antwoord.",
            recipientsTitle: "Wie de gegevens ontvangt",
            recipients: "Onze medewerkers die instaan voor kwaliteit en naleving, en, waar de wet het vereist, overheden en rechtbanken. Opnames worden niet verkocht of voor marketing doorgegeven.",
            retentionTitle: "Hoe lang wij ze bewaren",
            retentionIntro: "Gerekend vanaf het begin van elk gesprek (ISO 8601-termijnen: P1M = een maand, P6M = zes maanden, P1Y = een jaar):",
            audio: "audio", metadata: "gegevens",
            retentionNote: "Een gesprek kan langer bewaard worden zolang het als bewijs nodig is bij een incident of een rechtszaak; daarna wordt het gewist.",
            sourceTitle: "Waar de gegevens vandaan komen",
            source: "Uit het gesprek zelf: ons telefoonsysteem neemt het gesprek en de gegevens ervan op.",
            rightsTitle: "Uw andere rechten",
            rights: "U kunt ons vragen onjuiste gegevens te verbeteren (art. 16), uw opnames te wissen (art. 17), het gebruik ervan te beperken (art. 18), en u kunt bezwaar maken tegen het gebruik (art. 21). U kunt een klacht indienen bij de gegevensbeschermingsautoriteit van uw land (in België: de Gegevensbeschermingsautoriteit)."),
        "fr": Texts(
            title: "Vos enregistrements d'appels : réponse à votre demande d'accès (RGPD art. 15)",
            reference: "Référence", date: "Date de cet export", count: "Appels trouvés",
            contentsTitle: "Contenu de ce dossier",
            contents: ["  calls.json, calls.csv - chaque appel conservé dans lequel votre numéro était l'appelant ou l'appelé (heures locales)",
                       "  audio/ - les enregistrements encore conservés (*.playable.wav : une copie lisible par votre navigateur)",
                       "  manifest.json - le SHA-256 et la taille de chaque fichier, pour vérifier que rien n'a été modifié"],
            purposesTitle: "Pourquoi nous enregistrons les appels",
            purposes: "Pour le coaching qualité interne de notre personnel, et pour rien d'autre. Un enregistrement n'est conservé au-delà de sa durée normale que s'il est nécessaire pour un incident ou comme preuve dans un litige.",
            categoriesTitle: "Ce que nous conservons",
            categories: "L'audio de l'appel et ses données : début et fin, durée et sens, numéros appelant et appelé et file d'attente. Les données de notre personnel ne font pas partie de cette reponse.",
            recipientsTitle: "Destinataires",
            recipients: "Notre personnel chargé de la qualité et de la conformité et, lorsque la loi l'exige, les autorités et les tribunaux. Les enregistrements ne sont ni vendus ni transmis à des fins de marketing.",
            retentionTitle: "Durée de conservation",
            retentionIntro: "À compter du début de chaque appel (durées ISO 8601 : P1M = un mois, P6M = six mois, P1Y = un an) :",
            audio: "audio", metadata: "données",
            retentionNote: "Un appel peut être conservé plus longtemps tant qu'il sert de preuve dans un incident ou une procédure judiciaire ; il est supprimé ensuite.",
            sourceTitle: "Origine des données",
            source: "L'appel lui-même : notre système téléphonique enregistre l'appel et ses données.",
            rightsTitle: "Vos autres droits",
            rights: "Vous pouvez nous demander de rectifier des données inexactes (art. 16), d'effacer vos enregistrements (art. 17), d'en limiter l'utilisation (art. 18) et vous pouvez vous opposer à leur utilisation (art. 21). Vous pouvez introduire une plainte auprès de l'autorité de protection des données de votre pays (en Belgique : l'Autorité de protection des données)."),
    ]
}
