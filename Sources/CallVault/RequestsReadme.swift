// README.txt of an access bundle: what GDPR art. 15(1) says the subject must be told, in nl, fr or en.
import CallVaultCore
import Foundation

enum AccessReadme {
    /// One controller's part of the answer: who it is, its authority's country and how long it keeps calls.
    struct Controllership {
        var controller: Controller?
        var country: String?
        var audio: ISODuration
        var metadata: ISODuration
    }

    /// `parts` has one element for a request of one tenant (every request opened on a store of several tenants
    /// names its tenant); an older request across tenants gets one part per controller. No tenant id is written.
    /// `quarantined`: copies of the subject's calls refused at intake, kept at most `quarantinePeriod`.
    static func text(language: String, reference: String, calls: Int, exportedAt: Date, parts: [Controllership],
                     quarantined: Int = 0, quarantinePeriod: ISODuration? = nil) -> String {
        let date = String(Timestamp.utc(exportedAt).prefix(10))
        let t = texts[language] ?? texts["en"]!
        var lines = [t.title, "", "\(t.reference): \(reference)", "\(t.date): \(date)", "\(t.count): \(calls)", ""]
        let named = parts.compactMap(\.controller)
        if !named.isEmpty {
            lines += [t.controllerTitle] + named.map { "  \($0.name). \(t.questions): \($0.dpoEmail)" } + [""]
        }
        lines += [t.contentsTitle] + t.contents + [""]
        if quarantined > 0, let period = quarantinePeriod {
            lines += [t.quarantine.replacingOccurrences(of: "{n}", with: String(quarantined))
                .replacingOccurrences(of: "{period}", with: words(period, language)), ""]
        }
        lines += [t.purposesTitle, t.purposes, ""]
        lines += [t.categoriesTitle, t.categories, ""]
        lines += [t.recipientsTitle, t.recipients, ""]
        lines += [t.retentionTitle, t.retentionIntro]
        for p in parts {
            let who = parts.count > 1 ? "\(p.controller?.name ?? "-"): " : ""
            lines.append("  - \(who)\(t.audio) \(words(p.audio, language)), \(t.metadata) \(words(p.metadata, language))")
        }
        lines += [t.retentionNote, ""]
        lines += [t.sourceTitle, t.source, ""]
        let authorities = Array(Set(parts.map { authority($0.country, language) })).sorted()
        lines += [t.rightsTitle, t.rights + " " + t.complaint + authorities.joined(separator: t.or) + ".", ""]
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The supervisory authority of the controller's country (GDPR art. 77), in the letter's language.
    static func authority(_ country: String?, _ language: String) -> String {
        switch (country, language) {
        case ("BE", "nl"): return "de Gegevensbeschermingsautoriteit (Autorité de protection des données), www.gegevensbeschermingsautoriteit.be"
        case ("BE", "fr"): return "l'Autorité de protection des données (Gegevensbeschermingsautoriteit), www.autoriteprotectiondonnees.be"
        case ("BE", _): return "the Belgian Data Protection Authority (Gegevensbeschermingsautoriteit / Autorité de protection des données), www.dataprotectionauthority.be"
        case ("NL", "nl"): return "de Autoriteit Persoonsgegevens, autoriteitpersoonsgegevens.nl"
        case ("NL", "fr"): return "l'autorité néerlandaise de protection des données (Autoriteit Persoonsgegevens), autoriteitpersoonsgegevens.nl"
        case ("NL", _): return "the Dutch Data Protection Authority (Autoriteit Persoonsgegevens), autoriteitpersoonsgegevens.nl"
        case (_, "nl"): return "de gegevensbeschermingsautoriteit van uw land"
        case (_, "fr"): return "l'autorité de protection des données de votre pays"
        default: return "the data protection authority of your country"
        }
    }

    /// A retention period in words ("1 month", "6 maanden", "1 an"), never as `P1M`.
    static func words(_ d: ISODuration, _ language: String) -> String {
        let names: [String: [(String, String)]] = [
            "en": [("year", "years"), ("month", "months"), ("week", "weeks"), ("day", "days"), ("hour", "hours")],
            "nl": [("jaar", "jaar"), ("maand", "maanden"), ("week", "weken"), ("dag", "dagen"), ("uur", "uur")],
            "fr": [("an", "ans"), ("mois", "mois"), ("semaine", "semaines"), ("jour", "jours"), ("heure", "heures")],
        ]
        let n = names[language] ?? names["en"]!
        let amounts = [d.years, d.months, d.weeks, d.days, d.hours]
        let said = zip(amounts, n).filter { $0.0 > 0 }.map { "\($0.0) \($0.0 == 1 ? $0.1.0 : $0.1.1)" }
        let and = ["nl": " en ", "fr": " et "][language] ?? " and "
        return said.isEmpty ? d.text : said.joined(separator: and)
    }

    struct Texts {
        var title, reference, date, count, contentsTitle: String
        var contents: [String]
        var purposesTitle, purposes, categoriesTitle, categories, recipientsTitle, recipients: String
        var retentionTitle, retentionIntro, audio, metadata, retentionNote, sourceTitle, source, rightsTitle, rights: String
        var controllerTitle, questions, complaint, or: String
        /// {n} copies, {period} the quarantine period in words.
        var quarantine: String
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
            retentionIntro: "Counted from the start of each call:",
            audio: "audio", metadata: "details",
            retentionNote: "A call can be kept longer while it is needed as evidence in an incident or a legal case; it is deleted afterwards.",
            sourceTitle: "Where the data comes from",
            source: "From the call itself: our telephone system records the call and its details.",
            rightsTitle: "Your other rights",
            rights: "You may ask us to correct inaccurate details (art. 16), to erase your recordings (art. 17), to restrict their use (art. 18) and you may object to their use (art. 21).",
            controllerTitle: "Who is responsible for your data", questions: "Questions about your data", complaint: "You may lodge a complaint with ", or: " or ",
            quarantine: "Also held: {n} copy(ies) of your calls that our system refused when they came in (incomplete or damaged, for example). They are not used, calls.json lists them under \"quarantine\", and they are deleted at the latest {period} after they came in."),
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
            retentionIntro: "Gerekend vanaf het begin van elk gesprek:",
            audio: "audio", metadata: "gegevens",
            retentionNote: "Een gesprek kan langer bewaard worden zolang het als bewijs nodig is bij een incident of een rechtszaak; daarna wordt het gewist.",
            sourceTitle: "Waar de gegevens vandaan komen",
            source: "Uit het gesprek zelf: ons telefoonsysteem neemt het gesprek en de gegevens ervan op.",
            rightsTitle: "Uw andere rechten",
            rights: "U kunt ons vragen onjuiste gegevens te verbeteren (art. 16), uw opnames te wissen (art. 17), het gebruik ervan te beperken (art. 18), en u kunt bezwaar maken tegen het gebruik (art. 21).",
            controllerTitle: "Wie verantwoordelijk is voor uw gegevens", questions: "Vragen over uw gegevens", complaint: "U kunt een klacht indienen bij ", or: " of ",
            quarantine: "Daarnaast bewaard: {n} kopie(ën) van uw gesprekken die ons systeem bij ontvangst weigerde (bijvoorbeeld onvolledig of beschadigd). Ze worden niet gebruikt, calls.json vermeldt ze onder \"quarantine\", en ze worden uiterlijk {period} na ontvangst verwijderd."),
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
            retentionIntro: "À compter du début de chaque appel :",
            audio: "audio", metadata: "données",
            retentionNote: "Un appel peut être conservé plus longtemps tant qu'il sert de preuve dans un incident ou une procédure judiciaire ; il est supprimé ensuite.",
            sourceTitle: "Origine des données",
            source: "L'appel lui-même : notre système téléphonique enregistre l'appel et ses données.",
            rightsTitle: "Vos autres droits",
            rights: "Vous pouvez nous demander de rectifier des données inexactes (art. 16), d'effacer vos enregistrements (art. 17), d'en limiter l'utilisation (art. 18) et vous pouvez vous opposer à leur utilisation (art. 21).",
            controllerTitle: "Responsable du traitement de vos données", questions: "Questions sur vos données", complaint: "Vous pouvez introduire une plainte auprès de ", or: " ou ",
            quarantine: "Également conservées : {n} copie(s) de vos appels que notre système a refusées à leur arrivée (incomplètes ou endommagées, par exemple). Elles ne sont pas utilisées, calls.json les énumère sous \"quarantine\", et elles sont supprimées au plus tard {period} après leur arrivée."),
    ]
}
